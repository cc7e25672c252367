export default async function subscribe({ apiClient, webhookUri, parameters }) {
  const hook = await apiClient.post(`/repos/${parameters.owner}/${parameters.repo}/hooks`, {
    config: { url: webhookUri, content_type: 'json' },
    events: ['issues'],
  })
  return { state: { hookId: hook.id } }
}
