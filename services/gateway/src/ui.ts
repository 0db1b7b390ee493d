/**
 * The operator web UI: one self-contained page (inline CSS and JS, no build).
 * The API token lives in sessionStorage only; every string from the API is
 * inserted with textContent, never as HTML.
 */
export const UI_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Daalu Federation</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f5f6f8; }
  header { background: #1d2330; color: #fff; padding: 12px 20px; display: flex; gap: 16px; align-items: center; }
  header h1 { font-size: 16px; margin: 0; flex: 1; }
  main { padding: 20px; max-width: 1200px; margin: 0 auto; }
  section { background: #fff; border-radius: 6px; padding: 16px; margin-bottom: 16px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
  th { font-weight: 600; color: #555; font-size: 12px; text-transform: uppercase; }
  .dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 6px; background: #9ca3af; }
  .green { background: #16a34a; } .amber { background: #f59e0b; } .red { background: #dc2626; }
  input { padding: 6px 8px; border: 1px solid #cbd5e1; border-radius: 4px; }
  button { padding: 6px 12px; border: 0; border-radius: 4px; background: #2563eb; color: #fff; cursor: pointer; }
  button.danger { background: #dc2626; } button.plain { background: #64748b; }
  pre { background: #0f172a; color: #e2e8f0; padding: 10px; border-radius: 4px; white-space: pre-wrap; word-break: break-all; }
  .err { color: #b91c1c; } .muted { color: #6b7280; } .hidden { display: none; }
</style>
</head>
<body>
<header>
  <h1>Daalu Federation</h1>
  <input id="token" type="password" placeholder="API token (dak1_...)" size="40" autocomplete="off">
  <button id="save">Use token</button>
  <button id="forget" class="plain">Forget</button>
</header>
<main>
  <p id="error" class="err"></p>
  <section>
    <h2>Add cluster</h2>
    <form id="add">
      <input id="name" placeholder="cluster name (DNS label)" required maxlength="63" pattern="[a-z0-9]([-a-z0-9]*[a-z0-9])?">
      <button type="submit">Add cluster</button>
    </form>
    <div id="issued" class="hidden">
      <p><strong>Invite token (shown once, valid 1 h):</strong></p>
      <pre id="issued-token"></pre>
      <p><strong>Run on the cluster:</strong> <button id="copy" class="plain" type="button">Copy</button> <span id="copied" class="muted"></span></p>
      <pre id="issued-helm"></pre>
    </div>
  </section>
  <section>
    <h2>Clusters <span id="updated" class="muted"></span></h2>
    <table>
      <thead><tr><th>Status</th><th>Name</th><th>Tunnel IP</th><th>Last handshake</th><th>Edge</th><th>API</th><th>Diagnostic</th><th></th></tr></thead>
      <tbody id="clusters"></tbody>
    </table>
  </section>
</main>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  const KEY = "daalu.apiToken";
  const colour = { connected: "green", awaiting_handshake: "amber", disconnected: "red", error: "red" };
  const token = () => sessionStorage.getItem(KEY) || "";
  const showError = (msg) => { $("error").textContent = msg || ""; };

  async function api(method, path, body) {
    const res = await fetch(path, {
      method,
      headers: Object.assign({ authorization: "Bearer " + token() }, body ? { "content-type": "application/json" } : {}),
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    const data = text ? JSON.parse(text) : {};
    if (!res.ok) throw new Error((data.title || res.status) + ": " + (data.detail || res.statusText));
    return data;
  }

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text == null || text === "" ? "—" : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function ago(iso) {
    if (!iso) return "never";
    const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
    return s < 60 ? s + " s ago" : s < 3600 ? Math.round(s / 60) + " min ago" : new Date(iso).toLocaleString();
  }

  async function refresh() {
    if (!token()) { showError("Paste an API token to begin."); return; }
    try {
      const { clusters } = await api("GET", "/v1/clusters");
      const tbody = $("clusters");
      tbody.replaceChildren();
      for (const c of clusters) {
        const tr = document.createElement("tr");
        const st = document.createElement("td");
        const dot = document.createElement("span");
        dot.className = "dot " + (colour[c.status] || "");
        st.append(dot, document.createTextNode(c.status.replace(/_/g, " ")));
        tr.appendChild(st);
        cell(tr, c.name);
        cell(tr, c.tunnelIp);
        cell(tr, ago(c.lastHandshake));
        cell(tr, c.edgeVersion);
        cell(tr, c.status === "pending_enrollment" ? "" : c.apiReachable ? "reachable" : "unreachable");
        cell(tr, c.diagnostic, "muted");
        const act = document.createElement("td");
        const del = document.createElement("button");
        del.className = "danger";
        del.textContent = "Delete";
        del.onclick = async () => {
          if (!confirm("Delete cluster " + c.name + "? Its tunnel is removed.")) return;
          try { await api("DELETE", "/v1/clusters/" + encodeURIComponent(c.id)); refresh(); } catch (e) { showError(e.message); }
        };
        act.appendChild(del);
        tr.appendChild(act);
        tbody.appendChild(tr);
      }
      if (clusters.length === 0) { const tr = document.createElement("tr"); const td = cell(tr, "No clusters yet.", "muted"); td.colSpan = 8; tbody.appendChild(tr); }
      $("updated").textContent = "updated " + new Date().toLocaleTimeString();
      showError("");
    } catch (e) { showError(e.message); }
  }

  $("token").value = "";
  $("save").onclick = () => { sessionStorage.setItem(KEY, $("token").value.trim()); $("token").value = ""; refresh(); };
  $("forget").onclick = () => { sessionStorage.removeItem(KEY); $("clusters").replaceChildren(); showError("Token forgotten."); };
  $("add").onsubmit = async (ev) => {
    ev.preventDefault();
    try {
      const r = await api("POST", "/v1/clusters", { name: $("name").value.trim() });
      $("issued-token").textContent = r.token;
      $("issued-helm").textContent = r.helmCommand;
      $("issued").classList.remove("hidden");
      $("name").value = "";
      refresh();
    } catch (e) { showError(e.message); }
  };
  $("copy").onclick = async () => {
    try { await navigator.clipboard.writeText($("issued-helm").textContent); $("copied").textContent = "copied"; }
    catch { $("copied").textContent = "select and copy manually"; }
  };
  refresh();
  setInterval(refresh, 5000);
})();
</script>
</body>
</html>
`;
