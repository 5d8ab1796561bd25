/**
 * verify-transform (stage 2): accepts JPEG and PNG only (anything else fails the execution with an error naming this
 * stage), and normalizes the metadata: EXIF date to ISO 8601, GPS to decimal latitude/longitude, make/model,
 * dimensions, size.
 */
const STAGE = 'verify-transform';
const ACCEPTED = ['jpeg', 'png'];

function error(name, message) {
  return Object.assign(new Error(`${STAGE}: ${message}`), { name });
}

/** "YYYY:MM:DD HH:MM:SS" (EXIF, local time without zone; read as UTC, the function's TZ) -> ISO 8601. */
export function exifDateToIso(value) {
  if (typeof value !== 'string') return null;
  const m = /^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** EXIF [degrees, minutes, seconds] + "N"/"S"/"E"/"W" -> signed decimal degrees (6 decimals, ~0.1 m). */
export function gpsToDecimal(dmsValue, ref) {
  if (!Array.isArray(dmsValue) || dmsValue.length < 1 || !dmsValue.every((x) => typeof x === 'number' && Number.isFinite(x))) return null;
  const [d = 0, m = 0, s = 0] = dmsValue;
  const v = d + m / 60 + s / 3600;
  const sign = ref === 'S' || ref === 'W' ? -1 : 1;
  return Math.round(sign * v * 1e6) / 1e6;
}

export const handler = async (event) => {
  const raw = event?.raw;
  if (typeof raw !== 'object' || raw === null) throw error('InvalidInput', 'the event has no "raw" metadata from extract-metadata');
  if (!ACCEPTED.includes(raw.format)) {
    throw error('ImageTypeNotSupported', `unsupported image type "${raw.format}" (${raw.mime}); only JPEG and PNG are accepted`);
  }
  if (!raw.decodable || !(raw.width > 0) || !(raw.height > 0)) {
    throw error('ImageCorrupt', `the ${raw.format.toUpperCase()} file (${raw.bytes} bytes) cannot be decoded`);
  }
  const exif = raw.exif ?? {};
  const latitude = gpsToDecimal(exif.GPSLatitude, exif.GPSLatitudeRef);
  const longitude = gpsToDecimal(exif.GPSLongitude, exif.GPSLongitudeRef);
  return {
    format: raw.format,
    mime: raw.mime,
    width: raw.width,
    height: raw.height,
    bytes: raw.bytes,
    orientation: raw.orientation ?? 1,
    make: typeof exif.Make === 'string' ? exif.Make.trim() : null,
    model: typeof exif.Model === 'string' ? exif.Model.trim() : null,
    takenAt: exifDateToIso(exif.DateTimeOriginal ?? exif.CreateDate ?? exif.ModifyDate ?? exif.DateTime),
    gps: latitude !== null && longitude !== null ? { latitude, longitude } : null,
  };
};
