// Registers a repository webhook for `issues` events that sends to this subscription's URL.
// https://docs.github.com/rest/repos/webhooks#create-a-repository-webhook
export default async function subscribe({ apiClient, webhookUri, parameters }) {
  const secret = parameters.secret ?? generateSecret()
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

// 64 hex characters from the system's cryptographically secure generator.
function generateSecret() {
  return randomBytes(32).toString('hex')
}
