// How numbers, times and ages read on the console.

const PREFIXES = [
  [1e-9, 'n'],
  [1e-6, 'µ'],
  [1e-3, 'm'],
  [1, ''],
  [1e3, 'k'],
];

export function isNumber(value) {
  return typeof value === 'number' && Number.isFinite(value);
}

// A value with an SI prefix and three significant digits: 2.01 µA, 485 mA.
export function si(value, unit) {
  if (!isNumber(value)) return '—';
  if (value === 0) return `0 ${unit}`;
  const size = Math.abs(value);
  let [scale, prefix] = PREFIXES[0];
  for (const [s, p] of PREFIXES) if (size >= s * 0.9995) [scale, prefix] = [s, p];
  const scaled = value / scale;
  const digits = Math.abs(scaled) >= 100 ? 0 : Math.abs(scaled) >= 10 ? 1 : 2;
  return `${scaled.toFixed(digits)} ${prefix}${unit}`;
}

export function fixed(value, digits) {
  return isNumber(value) ? value.toFixed(digits) : '—';
}

// A quantity in its unit: currents with a prefix, voltages and the rest with fixed digits.
export function quantity(value, unit, digits = 2) {
  if (unit === 'A') return si(value, 'A');
  if (!isNumber(value)) return '—';
  return unit ? `${value.toFixed(digits)} ${unit}` : value.toFixed(digits);
}

export function age(seconds) {
  if (!isNumber(seconds)) return '—';
  if (seconds < 0) seconds = 0;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

const pad = (n) => String(n).padStart(2, '0');

export function clock(ts) {
  if (!isNumber(ts)) return '—';
  const d = new Date(ts * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function datetime(ts) {
  if (!isNumber(ts)) return '—';
  const d = new Date(ts * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(ts)}`;
}

export function duration(seconds) {
  if (!isNumber(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
}

// Voltages: HV in tenths, LV in hundredths, from the device's own limit.
export function voltageDigits(meta) {
  const max = meta?.limits?.vreq?.max;
  return isNumber(max) && max >= 100 ? 1 : 2;
}
