// Checks GitHub's signature and turns an `issues` delivery into one record event.
// https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries
const TYPES = {
  opened: 'created',
  deleted: 'deleted',
  transferred: 'deleted',
}

export default async function handle({ headers, rawBody, data, state, parameters }) {
  const secret = state?.secret ?? parameters.secret
  if (!secret) throw new Error('no webhook secret in the subscription state or parameters')
  const expected = 'sha256=' + createHmac('sha256', secret).update(rawBody).digest('hex')
  const received = headers['x-hub-signature-256'] ?? ''
  if (!timingSafeEqual(Buffer.from(received), Buffer.from(expected))) {
    throw new Error('X-Hub-Signature-256 does not match the body: not sent by GitHub with this hook\'s secret')
  }

  const delivery = headers['x-github-event']
  // GitHub pings a new hook once; nothing happened to an issue.
  if (delivery === 'ping') return { events: [] }
  if (delivery !== 'issues' || !data.issue) return { events: [] }

  const issue = data.issue
  const type = TYPES[data.action] ?? 'updated'
  const record = {
    id: String(issue.number),
    name: issue.title,
    createdTime: issue.created_at,
    updatedTime: issue.updated_at,
    fields: {
      number: issue.number,
      title: issue.title,
      body: issue.body ?? null,
      state: issue.state,
      url: issue.html_url,
      author: issue.user?.login ?? null,
      labels: (issue.labels ?? []).map((label) => label.name),
      assignees: (issue.assignees ?? []).map((user) => user.login),
      action: data.action,
    },
  }
  if (type === 'deleted') record.deletedTime = issue.updated_at ?? new Date().toISOString()
  return { events: [{ type, record }] }
}
