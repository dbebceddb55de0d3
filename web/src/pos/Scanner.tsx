// The camera at the counter: point it at the customer's QR code.
import { useEffect, useRef, useState } from "react";
import { Button } from "../shared/ui";
import { codeIn, reader } from "./scan";

function cameraProblem(err: unknown): string {
  const name = err instanceof DOMException ? err.name : "";
  if (name === "NotAllowedError") return "The camera is not allowed. Allow it for this page in the browser's settings.";
  if (name === "NotFoundError" || name === "OverconstrainedError") return "This device has no camera to use.";
  if (typeof navigator.mediaDevices?.getUserMedia !== "function") return "This browser cannot use the camera here.";
  return "The camera could not start. Try again, or type the code.";
}

export function Scanner({ onCode }: { onCode: (code: string) => void }) {
  const [on, setOn] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const video = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (!on) return;
    let stream: MediaStream | null = null;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    (async () => {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
        const read = await reader();
        const el = video.current;
        if (!el || stopped) return;
        el.srcObject = stream;
        await el.play();
        // A few frames a second is quick enough for a code held up, and
        // leaves the tablet cool.
        const tick = async () => {
          if (stopped) return;
          const text = await read(el).catch(() => null);
          if (text) {
            setOn(false);
            onCode(codeIn(text));
          } else {
            timer = setTimeout(tick, 200);
          }
        };
        void tick();
      } catch (err) {
        setProblem(cameraProblem(err));
        setOn(false);
      }
    })();
    return () => {
      stopped = true;
      clearTimeout(timer);
      stream?.getTracks().forEach((t) => t.stop());
    };
  }, [on, onCode]);
  return (
    <div className="scanner">
      {on ? (
        <>
          <video ref={video} muted playsInline aria-label="Camera view: hold the customer's code up to it" />
          <Button type="button" className="big secondary" onClick={() => setOn(false)}>
            Stop camera
          </Button>
        </>
      ) : (
        <Button
          type="button"
          className="big secondary"
          onClick={() => {
            setProblem(null);
            setOn(true);
          }}
        >
          Scan with camera
        </Button>
      )}
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
    </div>
  );
}
