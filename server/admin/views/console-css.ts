/**
 * The admin console's one stylesheet, served as `/admin/console.css`: the console's
 * Content-Security-Policy allows no inline styles, so every page links to this.
 */

/** The console's stylesheet. */
export const CONSOLE_CSS = `
:root{--fg:#1d1d1f;--muted:#5b5b60;--line:#e2e2e6;--bg:#fafafa;--ok:#116329;--bad:#a40e26;--warn:#8a5a00;--link:#0b57b0}
*{box-sizing:border-box}body{font:15px/1.45 system-ui,sans-serif;margin:0;color:var(--fg);background:var(--bg)}
header.top{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;padding:.6rem 1.2rem;background:#1d1d1f;color:#fff}
header.top a{color:#fff;text-decoration:none;font-weight:600}header.top nav{display:flex;flex-wrap:wrap;gap:.25rem 1rem;flex:1}header.top nav a{white-space:nowrap}
header.top form{margin:0}header.top .who{color:#ccc;font-size:.9rem}
main{max-width:78rem;margin:0 auto;padding:1rem 1.2rem 3rem}
h1{font-size:1.45rem;margin:.6rem 0}h2{font-size:1.1rem;margin:1.6rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
a{color:var(--link)}table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600}table.kv th{width:13rem}
code,pre{font:13px/1.4 ui-monospace,monospace;background:#f1f1f3;border-radius:3px}code{padding:0 .2rem}pre{padding:.5rem;overflow:auto;max-width:60rem;margin:.3rem 0}
.badge{display:inline-block;padding:0 .45rem;border-radius:9px;font-size:.82rem;font-weight:600;background:#e8e8ec}
.s-active,.s-approved{background:#dff3e4;color:var(--ok)}.s-revoking,.s-pending_approval{background:#fff1cf;color:var(--warn)}
.s-denied,.s-failed{background:#fde2e4;color:var(--bad)}.r-high{background:#fde2e4;color:var(--bad)}.r-critical{background:var(--bad);color:#fff}.r-medium{background:#fff1cf;color:var(--warn)}.r-low{background:#e8e8ec}
form.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.5rem .8rem;background:#fff;padding:.8rem;border:1px solid var(--line);border-radius:6px}
form.filters label{display:flex;flex-direction:column;font-size:.85rem;color:var(--muted)}
form.filters fieldset{grid-column:1/-1;border:0;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:.3rem 1rem;font-size:.85rem}
input,select,button{font:inherit}input[type=text],input[type=date],select{padding:.25rem .35rem;border:1px solid #c8c8ce;border-radius:4px;background:#fff}
button,.button{display:inline-block;padding:.4rem 1rem;border:0;border-radius:5px;background:#2d2d33;color:#fff;cursor:pointer;text-decoration:none;font-weight:600}
button.danger,.button.danger{background:var(--bad)}button.link{background:none;color:#fff;padding:0;font-weight:400;text-decoration:underline}
.actions{display:flex;flex-wrap:wrap;gap:.6rem;margin:.8rem 0}.notice{background:#e6f0ff;border:1px solid #b6cdf5;padding:.5rem .8rem;border-radius:5px}
.error{background:#fde2e4;border:1px solid #f2b8bf;padding:.5rem .8rem;border-radius:5px}.ok{color:var(--ok)}.bad{color:var(--bad)}
.muted{color:var(--muted);font-size:.9rem}.pager{display:flex;gap:1rem;margin:.8rem 0}details summary{cursor:pointer;color:var(--link)}
svg.chart{max-width:100%;height:auto;background:#fff;border:1px solid var(--line);border-radius:6px}
svg .grid{stroke:#e4e4e8;stroke-width:1}svg .axis,svg .legend{font-size:11px;fill:#5b5b60}
svg .c0{fill:#2f6fdb}svg .c1{fill:#c2410c}svg .c2{fill:#8b8b95}svg .c3{fill:#a40e26}svg .c4{fill:#2e9d5b}svg .c5{fill:#7c3aed}
table.chart-data{margin:.4rem 0 1.2rem;font-size:.9rem;max-width:40rem}table.chart-data caption{text-align:left;color:var(--muted);padding:.2rem 0}
.charts section{margin-bottom:1.5rem}.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.list-scroll{overflow-x:auto}
@media (max-width:40rem){
main{padding:.8rem .7rem 2rem}header.top{padding:.6rem .7rem}header.top .who{overflow-wrap:anywhere}
table.list,table.list tbody,table.list tr,table.list td{display:block}table.list{background:none}
table.list thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.list tr{background:#fff;border:1px solid var(--line);border-radius:6px;margin:.6rem 0;padding:.35rem .7rem}
table.list td{position:relative;border:0;padding:.15rem 0 .15rem 6.8rem;min-height:1.6rem;overflow-wrap:anywhere}
table.list td::before{content:attr(data-label);position:absolute;left:0;width:6.3rem;color:var(--muted);font-weight:600;font-size:.85rem}
}
`;
