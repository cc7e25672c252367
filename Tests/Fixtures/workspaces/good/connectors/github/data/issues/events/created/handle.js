export default async function handle({ data }) {
  if (data.action !== 'opened') return { events: [] }
  return { events: [{ type: 'created', record: { id: String(data.issue.number), name: data.issue.title, fields: { title: data.issue.title, state: data.issue.state } } }] }
}
