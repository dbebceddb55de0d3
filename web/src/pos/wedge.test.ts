import { describe, expect, it } from "vitest";
import { wedge } from "./wedge";

function typed(text: string, gapMs: number, listener: ReturnType<typeof wedge>, clock: { t: number }) {
  for (const key of [...text, "Enter"]) {
    clock.t += gapMs;
    listener({ key });
  }
}

describe("a keyboard-wedge scanner", () => {
  it("is told from a person by its speed and the Enter that ends it", () => {
    const scans: string[] = [];
    const clock = { t: 0 };
    const listener = wedge((c) => scans.push(c), {}, () => clock.t);
    typed("AB12CD34EF56GH78", 5, listener, clock);
    typed("slowly", 200, listener, clock);
    typed("AB1", 5, listener, clock);
    expect(scans).toEqual(["AB12CD34EF56GH78"]);
  });
});
