"""DICOM networking: the C-STORE / C-ECHO service (SCP) that practices' modalities and PACS send to.

- `contexts`: the accepted SOP classes and transfer syntaxes (compressed data is stored as received).
- `nodes`: who may send: a registered, active `DicomNode` (calling AE title, optionally its address).
- `status`: the DICOM status answered for each outcome of `ingest_file_receive`.
- `scp`: the pynetdicom server, started by `manage.py run_dicom_scp` or programmatically (tests).
"""
