// A keyboard-wedge barcode scanner (the common USB kind) types the code as
// keystrokes, much faster than a person, and ends with Enter. Listening on the
// whole page lets the cashier scan without first tapping the code field.
export interface WedgeOptions {
  /** The longest gap between two keystrokes of one scan. */
  maxGapMs?: number;
  /** The fewest characters a scan has. */
  minLength?: number;
}

/** Feed key events; `onScan` gets each complete scan. Returns the listener. */
export function wedge(onScan: (code: string) => void, options: WedgeOptions = {}, now = () => performance.now()) {
  const maxGap = options.maxGapMs ?? 50;
  const minLength = options.minLength ?? 6;
  let buffer = "";
  let last = -Infinity;
  return (e: Pick<KeyboardEvent, "key">): boolean => {
    const t = now();
    if (t - last > maxGap) buffer = "";
    last = t;
    if (e.key === "Enter") {
      const code = buffer;
      buffer = "";
      if (code.length >= minLength) {
        onScan(code);
        return true;
      }
      return false;
    }
    if (e.key.length === 1) buffer += e.key;
    return false;
  };
}
