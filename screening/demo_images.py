"""Synthetic demo images: generated once per (detector, seed, view), re-labelled per exam."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import numpy as np
from pydicom import Dataset

from screening.demo_people import SLOTS
from screening.dicom import synth


class ImagePool:
    """Synthetic breasts generated once per (detector, seed, view) in worker processes, re-labelled per exam.

    Pixel generation and JPEG 2000 encoding are the slow part: each exam gets a fresh header from
    synth (its woman, date, accession number and new UIDs) around pixel data shared with other exams.
    """

    _TEMPLATE = dict(
        patient_id="0", patient_name="GABARIT^Demo", birth_date="19600101", study_date="20200101"
    )
    _PIXEL_KEYWORDS = ("Rows", "Columns", "WindowCenter", "WindowWidth", "SmallestImagePixelValue",
                       "LargestImagePixelValue")  # fmt: skip

    def __init__(self, needs: list[tuple[str, int]], workers: int) -> None:
        self._jobs: dict[tuple[str, int, str], dict] = {}
        self._done: dict[tuple[str, int, str], Future | Dataset] = {}
        self._executor = None
        if workers > 1:
            try:
                context = multiprocessing.get_context("spawn")  # children import synth only, never Django
                self._executor = ProcessPoolExecutor(max_workers=workers, mp_context=context)
            except (OSError, NotImplementedError, ValueError):
                self._executor = None
        for detector, seed in dict.fromkeys(needs):
            for slot in SLOTS:
                kwargs = dict(self._TEMPLATE, accession_number="0", laterality=slot[0], view=slot[1:])
                kwargs.update(detector=detector, seed=seed)
                self._jobs[(detector, seed, slot)] = kwargs
                if self._executor is not None:
                    self._done[(detector, seed, slot)] = self._executor.submit(synth.make_mammogram, **kwargs)

    def _template(self, key: tuple[str, int, str]) -> Dataset:
        item = self._done.get(key)
        if isinstance(item, Future):
            try:
                item = item.result()
            except Exception:  # a broken worker pool: build it here instead
                item = None
        if item is None:
            item = synth.make_mammogram(**self._jobs[key])
        self._done[key] = item
        return item

    def write(self, path: Path, *, detector: str, seed: int, slot: str, meta_seed: int, **tags: str) -> Path:
        template = self._template((detector, seed, slot))
        ds = synth.make_mammogram(
            **tags, laterality=slot[0], view=slot[1:], detector=detector, seed=meta_seed,
            pixels=np.zeros((4, 4), np.uint16), compress=False,
        )  # fmt: skip
        for keyword in self._PIXEL_KEYWORDS:
            if keyword in template:
                setattr(ds, keyword, template[keyword].value)
        ds.PixelData = template.PixelData
        ds["PixelData"].VR = template["PixelData"].VR
        ds.file_meta.TransferSyntaxUID = template.file_meta.TransferSyntaxUID
        ds.save_as(path, enforce_file_format=True)
        return path

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
