// G2: decision-grade pixels are checked against the server's per-frame hash (SHA-256 of the stored values as
// little-endian integers of their own width, `view.wado.pixel_sha256`). Runs after decoding, off the paint path
// (SubtleCrypto digests off the main thread); a mismatch is an error, never silently shown as lossless.

function storedBytes(image, signed) {
  const data = image.getPixelData();
  const Wanted = signed ? Int16Array : Uint16Array;
  const typed = data instanceof Wanted ? data : Wanted.from(data); // e.g. Uint8Array when max ≤ 255
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength); // browsers are little-endian
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Resolve true / false (mismatch) / null (cannot check: no hash, scaled pixels, no SubtleCrypto). */
export async function verifyPixels(image, expected, signed) {
  if (!expected || !window.crypto || !window.crypto.subtle) return null;
  if (image.preScale && image.preScale.scaled) return null; // rescaled values are not the stored ones
  const digest = await window.crypto.subtle.digest("SHA-256", storedBytes(image, signed));
  return hex(digest) === expected;
}
