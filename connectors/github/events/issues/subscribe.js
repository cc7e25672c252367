// Registers a repository webhook for `issues` events that sends to this subscription's URL.
// https://docs.github.com/rest/repos/webhooks#create-a-repository-webhook
export default async function subscribe({ apiClient, webhookUri, parameters }) {
  const secret = parameters.secret ?? generateSecret(webhookUri)
  const hook = await apiClient.post(`/repos/${segment(parameters.owner)}/${segment(parameters.repo)}/hooks`, {
    name: 'web',
    active: true,
    events: ['issues'],
    config: { url: webhookUri, content_type: 'json', secret, insecure_ssl: '0' },
  })
  // The secret is kept in the state because handle needs it to check signatures.
  return { state: { hookId: hook.id, secret } }
}

function segment(value) {
  return encodeURIComponent(String(value))
}

// 64 hex characters. Prefer passing `secret` as a parameter: this mixes the subscription URL,
// the time and Math.random through SHA-256, which is unpredictable to GitHub's side but not a
// cryptographic random source.
function generateSecret(webhookUri) {
  const noise = [webhookUri, Date.now(), Math.random(), Math.random(), Math.random()].join(':')
  return createHash('sha256').update(noise).digest('hex')
}
