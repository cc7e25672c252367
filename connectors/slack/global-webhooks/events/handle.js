// https://api.slack.com/apis/events-api
const MAX_AGE_SECONDS = 5 * 60

export default async function handle({ data, headers, rawBody, parameters }) {
  if (parameters?.signingSecret) verifySignature(parameters.signingSecret, headers, rawBody)

  // Slack checks the Request URL once by sending a challenge to echo.
  if (data.type === 'url_verification') {
    return { events: [], response: { data: { challenge: data.challenge } } }
  }
  if (data.type !== 'event_callback' || !data.event) return { events: [] }

  return {
    events: [
      {
        selector: data.team_id,
        payload: {
          teamId: data.team_id,
          eventId: data.event_id,
          eventTime: data.event_time,
          event: data.event,
        },
      },
    ],
  }
}

// https://api.slack.com/authentication/verifying-requests-from-slack
function verifySignature(secret, headers, rawBody) {
  const timestamp = headers['x-slack-request-timestamp'] ?? ''
  const age = Math.abs(Date.now() / 1000 - Number(timestamp))
  if (!(age <= MAX_AGE_SECONDS)) throw new Error('X-Slack-Request-Timestamp is missing or older than five minutes')
  const expected = 'v0=' + createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')
  if (!timingSafeEqual(Buffer.from(headers['x-slack-signature'] ?? ''), Buffer.from(expected))) {
    throw new Error('X-Slack-Signature does not match the body: not sent by Slack with this signing secret')
  }
}
