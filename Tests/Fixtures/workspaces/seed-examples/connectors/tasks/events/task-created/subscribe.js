
// Example: Subscribe to a webhook and return the webhookId.
export default async function subscribe({ apiClient, webhookUri, parameters }) {
  const body = { webhookUri, '<some_key>': '<some_value>'}
  const response = await apiClient.post(parameters.path, body)

  return {
    state: {
      webhookId: response?.id
    }
  }
}
