// Extends the Graph subscription before it expires; re-creates it when Graph no longer knows it.
// https://learn.microsoft.com/graph/api/subscription-update
const LIFETIME_MS = 3 * 24 * 60 * 60 * 1000
const RENEW_BEFORE_MS = 12 * 60 * 60 * 1000

export default async function refresh({ apiClient, state, webhookUri, parameters }) {
  const expirationDateTime = new Date(Date.now() + LIFETIME_MS).toISOString()
  try {
    const updated = await apiClient.patch(`/subscriptions/${encodeURIComponent(state.subscriptionId)}`, { expirationDateTime })
    const expires = updated?.expirationDateTime ?? expirationDateTime
    return { state: { ...state, expirationDateTime: expires }, nextRefreshTimestamp: Date.parse(expires) - RENEW_BEFORE_MS }
  } catch (error) {
    if (error.status !== 404) throw error
  }
  // Expired or deleted on Graph's side: subscribe again with the same clientState.
  const created = await apiClient.post('/subscriptions', {
    changeType: 'created',
    notificationUrl: webhookUri,
    resource: `me/mailFolders('${parameters.folderId ?? 'inbox'}')/messages`,
    expirationDateTime,
    clientState: state.clientState,
  })
  const expires = created.expirationDateTime ?? expirationDateTime
  return {
    state: { ...state, subscriptionId: created.id, expirationDateTime: expires },
    nextRefreshTimestamp: Date.parse(expires) - RENEW_BEFORE_MS,
  }
}
