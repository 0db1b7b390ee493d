/**
 * kubectl's output rendered as a terminal would: xterm.js's own parser and
 * buffer (@xterm/headless) interpret the bytes (SGR colours, bold, cursor
 * movement, carriage returns), and the cells are drawn as React spans styled
 * by classes from our stylesheet. xterm's browser renderers inject <style>
 * elements, which the gateway's Content-Security-Policy (style-src 'self')
 * refuses; this renderer injects none. Wide tables do not wrap: the terminal
 * is as wide as the longest line and the box scrolls sideways.
 */
import { useEffect, useState } from "react";

interface Span {
  text: string;
  cls: string;
  color?: string;
  background?: string;
}

const MAX_COLS = 1000;

/** xterm's 256-colour palette entry 16–255 as CSS. */
function palette(n: number): string {
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  const c = [Math.floor(i / 36), Math.floor(i / 6) % 6, i % 6].map((x) => (x === 0 ? 0 : 55 + x * 40));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

const rgb = (v: number) => `rgb(${(v >> 16) & 255},${(v >> 8) & 255},${v & 255})`;

async function toLines(text: string): Promise<Span[][]> {
  const raw = text.split("\n");
  const cols = Math.min(MAX_COLS, Math.max(20, ...raw.map((l) => l.length + 1)));
  // Loaded on first use: the parser is most of the app's weight and only the kubectl panel needs it.
  const { Terminal } = await import("@xterm/headless");
  const term = new Terminal({ cols, rows: Math.max(1, raw.length + 1), scrollback: 100_000, convertEol: true, allowProposedApi: true });
  await new Promise<void>((resolve) => term.write(text, resolve));
  const buf = term.buffer.active;
  const lines: Span[][] = [];
  const cell = buf.getNullCell();
  for (let y = 0; y < buf.length; y++) {
    const line = buf.getLine(y);
    if (!line) continue;
    const spans: Span[] = [];
    for (let x = 0; x < line.length; x++) {
      line.getCell(x, cell);
      if (cell.getWidth() === 0) continue;
      const ch = cell.getChars() || " ";
      let fg: { cls?: string; css?: string } = {};
      let bg: { cls?: string; css?: string } = {};
      if (cell.isFgPalette()) fg = cell.getFgColor() < 16 ? { cls: `fg-${cell.getFgColor()}` } : { css: palette(cell.getFgColor()) };
      else if (cell.isFgRGB()) fg = { css: rgb(cell.getFgColor()) };
      if (cell.isBgPalette()) bg = cell.getBgColor() < 16 ? { cls: `bg-${cell.getBgColor()}` } : { css: palette(cell.getBgColor()) };
      else if (cell.isBgRGB()) bg = { css: rgb(cell.getBgColor()) };
      const cls = [fg.cls, bg.cls, cell.isBold() && "b", cell.isItalic() && "i", cell.isUnderline() && "u", cell.isDim() && "dim", cell.isInverse() && "inv", cell.isStrikethrough() && "s"].filter(Boolean).join(" ");
      const last = spans[spans.length - 1];
      if (last && last.cls === cls && last.color === fg.css && last.background === bg.css) last.text += ch;
      else spans.push({ text: ch, cls, ...(fg.css ? { color: fg.css } : {}), ...(bg.css ? { background: bg.css } : {}) });
    }
    // Trailing blanks in the default colours are not output.
    const tail = spans[spans.length - 1];
    if (tail && !tail.cls && !tail.background) tail.text = tail.text.replace(/ +$/, "");
    lines.push(spans);
  }
  term.dispose();
  while (lines.length > 0 && lines[lines.length - 1]!.every((s) => s.text === "")) lines.pop();
  return lines;
}

export function TerminalOutput({ text, label, className = "" }: { text: string; label: string; className?: string }) {
  const [lines, setLines] = useState<Span[][] | null>(null);
  useEffect(() => {
    let live = true;
    void toLines(text).then((l) => live && setLines(l));
    return () => {
      live = false;
    };
  }, [text]);
  return (
    <pre className={`term ${className}`} aria-label={label} tabIndex={0} data-testid="terminal">
      {(lines ?? [[{ text, cls: "" }]]).map((spans, y) => (
        <span className="term-line" key={y}>
          {spans.map((s, i) =>
            s.cls || s.color || s.background ? (
              <span key={i} className={s.cls || undefined} style={s.color || s.background ? { color: s.color, backgroundColor: s.background } : undefined}>
                {s.text}
              </span>
            ) : (
              s.text
            ),
          )}
          {"\n"}
        </span>
      ))}
    </pre>
  );
}
