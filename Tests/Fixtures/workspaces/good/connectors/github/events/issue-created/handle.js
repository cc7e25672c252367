export default async function handle({ data, headers }) {
  if (headers['x-github-event'] === 'ping') {
    return { events: [], response: { status: 200, data: 'pong' } }
  }
  if (data.action !== 'opened') {
    return { events: [] }
  }
  const issue = data.issue
  return { events: [{ type: 'created', record: { id: String(issue.id), title: issue.title, state: issue.state } }] }
}
