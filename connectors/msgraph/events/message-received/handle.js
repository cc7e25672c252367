// Answers Graph's validation handshake and turns change notifications into message records.
// https://learn.microsoft.com/graph/change-notifications-delivery-webhooks
const SELECT = 'subject,from,receivedDateTime,createdDateTime,bodyPreview,isRead,webLink'

export default async function handle({ apiClient, query, data, state }) {
  // When the subscription is created (or renewed), Graph POSTs ?validationToken=... and
  // expects the token back as text/plain within 10 seconds.
  if (query.validationToken) {
    return {
      events: [],
      response: { status: 200, headers: { 'Content-Type': 'text/plain' }, data: query.validationToken },
    }
  }

  const events = []
  for (const notification of data.value ?? []) {
    if (notification.clientState !== state?.clientState) {
      throw new Error('notification clientState does not match the subscription: not sent by Graph for this subscription')
    }
    if (notification.subscriptionId !== state.subscriptionId || notification.changeType !== 'created') continue
    const id = notification.resourceData?.id
    if (!id) continue
    let message
    try {
      message = await apiClient.get(`/me/messages/${encodeURIComponent(id)}`, { $select: SELECT })
    } catch (error) {
      if (error.status === 404) continue // deleted or moved before we got to it
      throw error
    }
    events.push({ type: 'created', record: toRecord(message) })
  }
  // Graph wants a 2xx within 3 seconds; 202 says "accepted".
  return { events, response: { status: 202 } }
}

function toRecord(message) {
  return {
    id: message.id,
    name: message.subject ?? '(no subject)',
    createdTime: message.createdDateTime ?? message.receivedDateTime,
    fields: {
      subject: message.subject ?? null,
      from: message.from?.emailAddress?.address ?? null,
      receivedDateTime: message.receivedDateTime,
      bodyPreview: message.bodyPreview ?? '',
      isRead: message.isRead ?? false,
      webLink: message.webLink ?? '',
    },
  }
}
