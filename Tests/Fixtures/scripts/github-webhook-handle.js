// A global webhook handler in the style of GitHub's: verify X-Hub-Signature-256, then
// turn the payload into events.
const SIGNATURE_PREFIX = 'sha256='

function expectedSignature(secret, rawBody) {
  return SIGNATURE_PREFIX + createHmac('sha256', secret).update(rawBody).digest('hex')
}

export default async function handle({ data, headers, parameters, rawBody }) {
  const signature = headers['x-hub-signature-256'] || ''
  if (!timingSafeEqual(signature, expectedSignature(parameters.webhookSecret, rawBody))) {
    throw new Error('Invalid webhook signature')
  }
  return {
    events: [{ type: 'created', record: { id: String(data.issue.id), name: data.issue.title } }],
    response: { status: 200, data: { ok: true } },
  }
}
