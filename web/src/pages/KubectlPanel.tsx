/**
 * Run a kubectl command: one-shot commands through the tunnel
 * (POST /v1/clusters/:id/kubectl), the output drawn as a terminal would, a
 * history of this tab's commands (↑/↓ in the box, or pick one), refusals in
 * words and kubectl's own errors (RBAC included) verbatim.
 */
import { useState } from "react";
import { Button, Form, Input, Label, TextField } from "react-aria-components";
import { api, ApiError, enc, messageOf, type KubectlResult } from "../api";
import { TerminalOutput } from "../terminal";
import { argvOf } from "../command";

interface Run {
  line: string;
  result?: KubectlResult;
  refusal?: string;
}

function refusalWords(err: unknown, argv: string[]): string {
  if (err instanceof ApiError) {
    if (err.reason === "KUBECTL_VERB_NOT_ALLOWED") return `${argv[0]} is not allowed from the panel: it runs read-only commands through the tunnel. (${err.message})`;
    if (err.reason === "KUBECTL_FLAG_NOT_ALLOWED") return `That flag is not allowed from the panel: ${err.message}.`;
    if (err.reason === "OPERATOR_REQUIRED") return "The kubectl panel needs the operator or admin role.";
    return err.message;
  }
  return messageOf(err);
}

export function KubectlPanel({ clusterId }: { clusterId: string }) {
  const [line, setLine] = useState("get pods -A");
  const [runs, setRuns] = useState<Run[]>([]);
  const [busy, setBusy] = useState(false);
  const [cursor, setCursor] = useState<number | null>(null);
  const history = runs.map((r) => r.line);
  const current = runs[runs.length - 1];

  const run = (text: string) => {
    const argv = argvOf(text);
    setCursor(null);
    if (typeof argv === "string") {
      setRuns((r) => [...r, { line: text, refusal: argv }]);
      return;
    }
    setBusy(true);
    api<KubectlResult>("POST", `/v1/clusters/${enc(clusterId)}/kubectl`, { argv })
      .then((result) => setRuns((r) => [...r, { line: text, result }]))
      .catch((err: unknown) => setRuns((r) => [...r, { line: text, refusal: refusalWords(err, argv) }]))
      .finally(() => setBusy(false));
  };

  return (
    <section className="card kubectl" aria-labelledby="kubectl-h">
      <h2 id="kubectl-h">Run a kubectl command</h2>
      <Form
        className="kubectl-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!busy && line.trim()) run(line);
        }}
      >
        <TextField
          className="field grow"
          value={line}
          onChange={setLine}
          onKeyDown={(e) => {
            if (e.key !== "ArrowUp" && e.key !== "ArrowDown") return;
            if (history.length === 0) return;
            e.preventDefault();
            const at = cursor ?? history.length;
            const next = e.key === "ArrowUp" ? Math.max(0, at - 1) : Math.min(history.length, at + 1);
            setCursor(next);
            setLine(next === history.length ? "" : history[next]!);
          }}
        >
          <Label>kubectl command</Label>
          <Input name="kubectl" className="mono" spellCheck={false} autoComplete="off" />
        </TextField>
        <Button type="submit" className="btn btn-primary" isDisabled={busy}>
          {busy ? "Running…" : "Run"}
        </Button>
      </Form>
      <div className="kubectl-out" aria-live="polite" data-testid="kubectl-result">
        {current?.refusal && (
          <p className="error" role="alert" data-testid="kubectl-refusal">
            {current.refusal}
          </p>
        )}
        {current?.result && (
          <>
            <p className="muted">
              <span className="mono">kubectl {current.line.replace(/^kubectl\s+/, "")}</span> · exit code {current.result.exitCode} · {current.result.durationMs} ms
              {current.result.truncated ? " · output cut at the size limit" : ""}
              {current.result.timedOut ? " · stopped at the time limit" : ""}
            </p>
            {current.result.stdout && <TerminalOutput text={current.result.stdout} label="kubectl output" />}
            {current.result.stderr && <TerminalOutput text={current.result.stderr} label="kubectl errors" className="term-err" />}
          </>
        )}
      </div>
      {history.length > 0 && (
        <details className="history">
          <summary>History ({history.length})</summary>
          <ol>
            {[...runs].reverse().map((r, i) => (
              <li key={runs.length - i}>
                <Button className="linklike mono" onPress={() => setLine(r.line)}>
                  {r.line}
                </Button>{" "}
                <span className="muted">{r.refusal ? "refused" : `exit ${r.result?.exitCode}`}</span>
              </li>
            ))}
          </ol>
        </details>
      )}
    </section>
  );
}
