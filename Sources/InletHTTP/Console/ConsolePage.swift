/// The console's page (`GET /console`): a shell the script fills from the admin API. It holds
/// no data and no token, so it is served without one.
enum ConsolePage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Inlet console</title>
<link rel="stylesheet" href="/console/console.css">
<script src="/console/console.js" defer></script>
</head>
<body>
<header>
  <h1>Inlet</h1>
  <span id="status" role="status"></span>
  <button id="sign-out" hidden>Sign out</button>
</header>
<main>
  <form id="sign-in" hidden>
    <label for="token">Admin token (INLET_ADMIN_TOKEN; <code>inlet dev</code> prints it)</label>
    <input id="token" name="token" type="password" autocomplete="off" required>
    <button type="submit">Sign in</button>
  </form>
  <div id="content" hidden>
    <section>
      <h2>Throughput and lag</h2>
      <p class="hint">From this process's metrics, every 2 s (with separate role processes, each role's own <code>--metrics-port</code> has its figures).</p>
      <table id="stages"><thead><tr><th>stage (consumer group)</th><th>messages/s</th><th>records/s out</th><th>lag</th></tr></thead><tbody></tbody></table>
      <table id="events"><thead><tr><th>connector</th><th>event type</th><th>events emitted</th></tr></thead><tbody></tbody></table>
    </section>
    <section>
      <h2>Subscriptions</h2>
      <table id="subscriptions"><thead><tr><th>id</th><th>status</th><th>connector</th><th>target</th><th>customer</th><th>events</th><th>last activity</th><th>last pull</th><th>last error</th></tr></thead><tbody></tbody></table>
    </section>
    <section>
      <h2>Dead letters</h2>
      <p id="replay-result" role="status"></p>
      <table id="dead-letters"><thead><tr><th>failed at</th><th>stage</th><th>reason</th><th>subscription</th><th>original</th><th></th></tr></thead><tbody></tbody></table>
    </section>
    <section>
      <h2>Connections</h2>
      <table id="connections"><thead><tr><th>id</th><th>connector</th><th>customer</th><th>name</th><th>created</th></tr></thead><tbody></tbody></table>
    </section>
    <section>
      <h2>Customers</h2>
      <table id="customers"><thead><tr><th>id</th><th>name</th></tr></thead><tbody></tbody></table>
    </section>
    <section>
      <h2>Global webhook URLs</h2>
      <table id="global-webhooks"><thead><tr><th>connector</th><th>webhook</th><th>URL</th></tr></thead><tbody></tbody></table>
    </section>
  </div>
</main>
</body>
</html>
"""#
}
