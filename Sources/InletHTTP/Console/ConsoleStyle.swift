/// The console's style sheet (`GET /console/console.css`).
enum ConsoleStyle {
    static let css = #"""
[hidden] { display: none !important; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f6f8fa; }
header { display: flex; align-items: center; gap: 1em; padding: .6em 1.2em; background: #24292f; color: #fff; }
header h1 { font-size: 1.2em; margin: 0; }
#status { flex: 1; opacity: .8; }
main { padding: 1em 1.2em; }
section { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: .6em 1em; margin-bottom: 1em; overflow-x: auto; }
h2 { font-size: 1.05em; margin: .2em 0 .6em; }
table { border-collapse: collapse; width: 100%; margin-bottom: .6em; }
th, td { text-align: left; padding: .25em .6em; border-bottom: 1px solid #eaeef2; vertical-align: top; }
th { font-weight: 600; color: #57606a; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.hint { color: #57606a; margin: 0 0 .5em; }
.status-active { color: #1a7f37; } .status-degraded { color: #9a6700; } .status-error { color: #cf222e; } .status-pending { color: #57606a; }
form#sign-in { display: flex; flex-direction: column; gap: .5em; max-width: 28em; }
button { cursor: pointer; }
code { background: #eaeef2; padding: 0 .25em; border-radius: 3px; }
"""#
}
