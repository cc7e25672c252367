export default async function list({ apiClient, parameters, cursor }) {
  const page = cursor ? Number(cursor) : 1
  const issues = await apiClient.get(`/repos/${parameters.owner}/${parameters.repo}/issues`, { query: { page, per_page: 100, state: 'all' } })
  return {
    records: issues.map((issue) => ({ id: String(issue.number), name: issue.title, fields: { title: issue.title, state: issue.state, comments: issue.comments } })),
    cursor: issues.length === 100 ? String(page + 1) : undefined,
  }
}
