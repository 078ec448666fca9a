// Greyscale (spec §4 window/level, §5 G1): presets from the header, applied on the GPU by cornerstone.
// Order: stored → Modality LUT (cornerstone, in the texture) → VOI (a WC/WW pair with its VOI LUT function,
// or a VOI LUT Sequence item, which cornerstone does not apply on the GPU: we write it as the transfer
// function's nodes) → Presentation LUT (MONOCHROME1 or PresentationLUTShape INVERSE inverts) → user invert.

import { headerOf } from "./viewer-headers.js";

const FUNCTIONS = new Set(["LINEAR", "LINEAR_EXACT", "SIGMOID"]);
const MAX_NODES = 1024;

function lc() {
  return window.L2Cornerstone;
}

/** The image's header: ours from the WADO-RS JSON (viewer-headers.js) over cornerstone's "instance", or {}. */
function instanceOf(imageId) {
  let instance = {};
  try {
    instance = lc().core.metaData.get("instance", imageId) || {};
  } catch (e) {
    /* not known to cornerstone yet */
  }
  const own = headerOf(imageId);
  return own ? { ...instance, ...own } : instance;
}

const list = (v) => (v === undefined || v === null ? [] : [].concat(v));

/** Presets of one image (§4): each WC/WW pair, then each VOI LUT Sequence item; else auto min/max. */
export function presetsFor(imageId) {
  const { core } = lc();
  const voi = core.metaData.get("voiLutModule", imageId) || {};
  const instance = instanceOf(imageId);
  const names = list(voi.windowCenterWidthExplanation ?? instance.WindowCenterWidthExplanation).map(String);
  const fnRaw = String(voi.voiLUTFunction || instance.VOILUTFunction || "LINEAR").toUpperCase();
  const fn = FUNCTIONS.has(fnRaw) ? fnRaw : "LINEAR";
  const centers = list(voi.windowCenter);
  const widths = list(voi.windowWidth);
  const presets = [];
  for (let i = 0; i < Math.min(centers.length, widths.length); i++) {
    const center = Number(centers[i]);
    const width = Number(widths[i]);
    if (!Number.isFinite(center) || !(width >= 1)) continue;
    const name = names[i] && names[i].trim() ? names[i].trim() : `${fn} ${Math.round(center)}/${Math.round(width)}`;
    presets.push({ kind: "window", center, width, fn, name });
  }
  const luts = voi.voiLUTSequence || list(instance.VOILUTSequence).map(lutFromItem);
  const lutNames = list(instance.VOILUTSequence).map((item) => String((item && item.LUTExplanation) || ""));
  luts.forEach((lut, i) => {
    if (lut && lut.lut && lut.lut.length > 1) presets.push({ kind: "lut", lut, name: lutNames[i] || `LUT ${i + 1}` });
  });
  if (!presets.length) presets.push({ kind: "auto", name: "auto" });
  return presets;
}

/** A naturalised VOI LUT Sequence item → {firstValueMapped, numBitsPerEntry, lut}. */
function lutFromItem(item) {
  if (!item) return null;
  const descriptor = list(item.LUTDescriptor).map(Number);
  let data = item.LUTData;
  if (Array.isArray(data) && data.length === 1 && typeof data[0] === "object") data = data[0];
  if (data instanceof ArrayBuffer) data = new Uint16Array(data);
  else if (ArrayBuffer.isView(data) && !(data instanceof Uint16Array) && !(data instanceof Int16Array)) {
    data = new Uint16Array(data.buffer, data.byteOffset, Math.floor(data.byteLength / 2));
  }
  if (!data || !data.length) return null;
  const count = descriptor[0] || data.length;
  return { firstValueMapped: descriptor[1] || 0, numBitsPerEntry: descriptor[2] || 16, lut: Array.from(data).slice(0, count) };
}

/** Presentation LUT inversion of the image (§5): MONOCHROME1 or PresentationLUTShape INVERSE. */
export function baseInvertOf(imageId, photometric) {
  const shape = String(instanceOf(imageId).PresentationLUTShape || "").toUpperCase();
  return String(photometric || "").toUpperCase() === "MONOCHROME1" || shape === "INVERSE";
}

/** Apply a preset to a stack viewport; `invert` is the final inversion (presentation XOR user). */
export function applyVoi(viewport, preset, invert) {
  const { core } = lc();
  const image = viewport.getCornerstoneImage ? viewport.getCornerstoneImage() : null;
  if (!image) return;
  if (preset.kind === "window") {
    const range = core.utilities.windowLevel.toLowHighRange(preset.width, preset.center, preset.fn);
    viewport.setProperties({ VOILUTFunction: preset.fn, voiRange: range, invert });
  } else if (preset.kind === "lut") {
    const { lut, firstValueMapped } = preset.lut;
    const range = { lower: firstValueMapped, upper: firstValueMapped + lut.length - 1 };
    viewport.setProperties({ VOILUTFunction: "LINEAR", voiRange: range, invert });
    lutNodes(viewport, preset.lut, invert);
  } else {
    const lower = Number.isFinite(image.minPixelValue) ? image.minPixelValue : 0;
    const upper = Number.isFinite(image.maxPixelValue) ? image.maxPixelValue : 4095;
    viewport.setProperties({ VOILUTFunction: "LINEAR", voiRange: { lower, upper: Math.max(upper, lower + 1) }, invert });
  }
}

/** A VOI LUT item as the transfer function's nodes (output normalised to its bit depth, inverted last). */
function lutNodes(viewport, { lut, firstValueMapped, numBitsPerEntry }, invert) {
  const actor = viewport.getDefaultActor().actor;
  const tf = actor.getProperty().getRGBTransferFunction(0);
  if (!tf) return;
  let max = 0;
  for (const v of lut) max = Math.max(max, v);
  const bits = Number(numBitsPerEntry);
  const top = bits >= 8 && bits <= 16 && max <= 2 ** bits - 1 ? 2 ** bits - 1 : Math.max(1, max);
  const step = Math.max(1, Math.ceil(lut.length / MAX_NODES));
  tf.removeAllPoints();
  for (let i = 0; i < lut.length; i += step) add(i);
  if ((lut.length - 1) % step) add(lut.length - 1);
  function add(i) {
    let v = Math.min(1, Math.max(0, lut[i] / top));
    if (invert) v = 1 - v;
    tf.addRGBPoint(firstValueMapped + i, v, v, v);
  }
  tf.modified();
  actor.getProperty().setUseLookupTableScalarRange(true);
}

/** Right-drag W/L (flagged as manual): from the current preset, dx widens, dy raises the centre. */
export function dragWindow(preset, image, dx, dy) {
  let { center, width } = preset.kind === "window" ? preset : fromImage(image);
  const scale = Math.max(1, width) / 256;
  width = Math.max(1, width + dx * scale * 2);
  center = center + dy * scale * 2;
  return { kind: "window", center, width, fn: "LINEAR", name: "manuel", custom: true };
}

function fromImage(image) {
  const lo = image && Number.isFinite(image.minPixelValue) ? image.minPixelValue : 0;
  const hi = image && Number.isFinite(image.maxPixelValue) ? image.maxPixelValue : 4095;
  return { center: (lo + hi) / 2, width: Math.max(1, hi - lo) };
}
