export default async function handle({ data }) {
  return { events: [{ type: 'updated', record: { id: String(data.user), name: String(data.user) } }] }
}
