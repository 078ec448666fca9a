// The instance headers the viewer reads itself (VOI presets §4, Presentation LUT §5, spacing, magnification),
// naturalised from the DICOM JSON of WADO-RS (PS3.18 F.2) that the case JSON carries per view. cornerstone's
// own "instance" metadata of wadors images lacks some of them (e.g. the VOI LUT Sequence), so viewer-voi.js
// and the measure tool look here first.

const KEYWORDS = {
  "00280004": "PhotometricInterpretation", "00280101": "BitsStored", "00280103": "PixelRepresentation",
  "00280030": "PixelSpacing", "00181164": "ImagerPixelSpacing", "00181114": "EstimatedRadiographicMagnificationFactor",
  "00281050": "WindowCenter", "00281051": "WindowWidth", "00281055": "WindowCenterWidthExplanation",
  "00281056": "VOILUTFunction", "00283010": "VOILUTSequence", "00283002": "LUTDescriptor",
  "00283003": "LUTExplanation", "00283006": "LUTData", "20500020": "PresentationLUTShape",
  "00281052": "RescaleIntercept", "00281053": "RescaleSlope", "00080070": "Manufacturer",
};

const headers = new Map(); // imageId → naturalised subset

function base64Bytes(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function valueOf(element) {
  if (!element) return undefined;
  if (element.InlineBinary) {
    const bytes = base64Bytes(element.InlineBinary);
    return new Uint16Array(bytes.buffer, 0, Math.floor(bytes.byteLength / 2)); // OW LUT data, little-endian
  }
  const values = element.Value;
  if (!values) return undefined;
  if (element.vr === "SQ") return values.map((item) => naturalize(item));
  if (element.vr === "PN") return values.map((v) => (v && v.Alphabetic) || "");
  return values.length === 1 && !["US", "SS"].includes(element.vr) ? values[0] : values;
}

export function naturalize(json) {
  const out = {};
  for (const [tag, keyword] of Object.entries(KEYWORDS)) {
    const value = valueOf(json && json[tag]);
    if (value !== undefined) out[keyword] = value;
  }
  if (out.LUTData && !ArrayBuffer.isView(out.LUTData)) out.LUTData = Uint16Array.from(out.LUTData); // US values
  return out;
}

export function headerRegister(imageId, json) {
  if (json && !headers.has(imageId)) headers.set(imageId, naturalize(json));
}

export function headerOf(imageId) {
  return headers.get(imageId) || null;
}
