// Creates a Graph change-notification subscription for new messages in the folder.
// https://learn.microsoft.com/graph/api/subscription-post-subscriptions
const LIFETIME_MS = 3 * 24 * 60 * 60 * 1000 // Outlook messages allow up to 7 days
const RENEW_BEFORE_MS = 12 * 60 * 60 * 1000

export default async function subscribe({ apiClient, webhookUri, parameters }) {
  const expirationDateTime = new Date(Date.now() + LIFETIME_MS).toISOString()
  // Echoed in every notification; handle refuses notifications without it.
  const clientState = randomBytes(32).toString('hex')
  const folder = parameters.folderId ?? 'inbox'
  const subscription = await apiClient.post('/subscriptions', {
    changeType: 'created',
    notificationUrl: webhookUri,
    resource: `me/mailFolders('${folder}')/messages`,
    expirationDateTime,
    clientState,
  })
  const expires = Date.parse(subscription.expirationDateTime ?? expirationDateTime)
  return {
    state: { subscriptionId: subscription.id, clientState, expirationDateTime: subscription.expirationDateTime ?? expirationDateTime },
    nextRefreshTimestamp: expires - RENEW_BEFORE_MS,
  }
}
