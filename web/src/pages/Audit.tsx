/**
 * A cluster's audit rows (GET /v1/audit/calls?clusterId=…): filters for caller
 * kind, caller, verb, outcome and time range, newest first, one page at a time
 * (the API's cursor; "Newer" goes back through the cursors already seen).
 */
import { useEffect, useState } from "react";
import { Button, Form, Input, Label, TextField } from "react-aria-components";
import { api, messageOf, type AuditCall } from "../api";
import { Choice, ErrorLine } from "../ui";

const KINDS = ["any", "user", "assistant", "agent", "service", "edge"].map((id) => ({ id, name: id === "any" ? "Any kind" : id }));
const OUTCOMES = [
  { id: "any", name: "Any outcome" },
  { id: "ok", name: "Succeeded" },
  { id: "error", name: "Failed" },
];
const PAGE = 25;

/** A datetime-local value (the person's zone) as RFC 3339, or undefined. */
const rfc3339 = (v: string) => (v ? new Date(v).toISOString() : undefined);

export function AuditTab({ clusterId }: { clusterId: string }) {
  const [kind, setKind] = useState("any");
  const [caller, setCaller] = useState("");
  const [verb, setVerb] = useState("");
  const [outcome, setOutcome] = useState("any");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [applied, setApplied] = useState(0);
  const [pages, setPages] = useState<string[]>([""]);
  const [calls, setCalls] = useState<AuditCall[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const token = pages[pages.length - 1]!;

  useEffect(() => {
    const q = new URLSearchParams({ clusterId, pageSize: String(PAGE) });
    if (kind !== "any") q.set("callerKind", kind);
    if (caller.trim()) q.set("callerId", caller.trim());
    if (verb.trim()) q.set("verb", verb.trim().toLowerCase());
    if (outcome !== "any") q.set("outcome", outcome);
    const f = rfc3339(from);
    const t = rfc3339(to);
    if (f) q.set("from", f);
    if (t) q.set("to", t);
    if (token) q.set("pageToken", token);
    const ctl = new AbortController();
    setError(null);
    api<{ calls: AuditCall[]; nextPageToken: string | null }>("GET", `/v1/audit/calls?${q}`, undefined, { signal: ctl.signal })
      .then((r) => {
        setCalls(r.calls);
        setNext(r.nextPageToken);
      })
      .catch((e: unknown) => {
        if ((e as Error).name !== "AbortError") setError(messageOf(e));
      });
    return () => ctl.abort();
    // The filters apply on submit (applied), not on every keystroke.
  }, [clusterId, token, applied]);

  return (
    <section className="card" aria-labelledby="audit-h">
      <h2 id="audit-h">Audit</h2>
      <Form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setPages([""]);
          setApplied((n) => n + 1);
        }}
      >
        <Choice label="Caller kind" items={KINDS} value={kind} onChange={setKind} />
        <TextField className="field" value={caller} onChange={setCaller}>
          <Label>Caller</Label>
          <Input placeholder="user id" />
        </TextField>
        <TextField className="field" value={verb} onChange={setVerb}>
          <Label>Verb</Label>
          <Input placeholder="get, list, kubectl…" />
        </TextField>
        <Choice label="Outcome" items={OUTCOMES} value={outcome} onChange={setOutcome} />
        <TextField className="field" value={from} onChange={setFrom} type="datetime-local">
          <Label>From</Label>
          <Input />
        </TextField>
        <TextField className="field" value={to} onChange={setTo} type="datetime-local">
          <Label>To</Label>
          <Input />
        </TextField>
        <Button type="submit" className="btn btn-primary">
          Apply filters
        </Button>
      </Form>
      <ErrorLine error={error} />
      {!calls && !error && <p role="status">Loading audit rows…</p>}
      {calls && calls.length === 0 && <p className="muted">No audit rows match.</p>}
      {calls && calls.length > 0 && (
        <table className="plain audit-table">
          <caption className="visually-hidden">Audit rows, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Caller</th>
              <th scope="col">Verb</th>
              <th scope="col">What</th>
              <th scope="col">Outcome</th>
              <th scope="col">Latency</th>
            </tr>
          </thead>
          <tbody>
            {calls.map((c) => (
              <tr key={c.id} data-verb={c.operation.verb}>
                <td>
                  <time dateTime={c.time ?? undefined}>{c.time ? new Date(c.time).toLocaleString() : "—"}</time>
                </td>
                <td>
                  {c.caller.kind}:{c.caller.id}
                </td>
                <td>{c.operation.verb}</td>
                <td className="mono wrap">{c.operation.path || [c.operation.resource, c.operation.namespace, c.operation.name].filter(Boolean).join(" ")}</td>
                <td className={c.outcome.ok ? "" : "error"}>
                  {c.outcome.statusCode || ""} {c.outcome.ok ? "ok" : (c.outcome.error ?? "failed")}
                </td>
                <td>{c.latencyMs} ms</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="actions pager">
        <Button className="btn btn-plain" isDisabled={pages.length <= 1} onPress={() => setPages((p) => p.slice(0, -1))}>
          Newer
        </Button>
        <span className="muted">Page {pages.length}</span>
        <Button className="btn btn-plain" isDisabled={!next} onPress={() => next && setPages((p) => [...p, next])}>
          Older
        </Button>
      </div>
    </section>
  );
}
