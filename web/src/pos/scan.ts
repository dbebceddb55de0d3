// Reading a customer's QR code from the camera. The browser's own
// BarcodeDetector where it has one (Chrome on Android, macOS and ChromeOS);
// elsewhere jsQR (pure JavaScript, no WebAssembly, so the strict CSP holds),
// loaded only when the camera is first used.

/** Reads one frame; the code's text, or null when there is none in it. */
export type Reader = (video: HTMLVideoElement) => Promise<string | null>;

interface NativeDetector {
  detect(source: CanvasImageSource): Promise<{ rawValue: string }[]>;
}
type DetectorClass = {
  new (options: { formats: string[] }): NativeDetector;
  getSupportedFormats(): Promise<string[]>;
};

export async function reader(): Promise<Reader> {
  const Native = (globalThis as { BarcodeDetector?: DetectorClass }).BarcodeDetector;
  if (Native && (await Native.getSupportedFormats()).includes("qr_code")) {
    const detector = new Native({ formats: ["qr_code"] });
    return async (video) => (await detector.detect(video))[0]?.rawValue ?? null;
  }
  const { default: jsQR } = await import("jsqr");
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async (video) => {
    const { videoWidth: w, videoHeight: h } = video;
    if (!context || w === 0 || h === 0) return null;
    canvas.width = w;
    canvas.height = h;
    context.drawImage(video, 0, 0, w, h);
    const found = jsQR(context.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "dontInvert" });
    return found?.data ?? null;
  };
}

/**
 * The card code in what a QR code says: the code itself, or a link that
 * carries it as `code=` (as a printed card may).
 */
export function codeIn(text: string): string {
  const t = text.trim();
  try {
    const url = new URL(t);
    return url.searchParams.get("code") ?? url.hash.match(/code=([^&]+)/)?.[1] ?? t;
  } catch {
    return t;
  }
}
