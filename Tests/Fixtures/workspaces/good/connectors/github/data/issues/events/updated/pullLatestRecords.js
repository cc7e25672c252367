export default async function pullLatestRecords({ apiClient, cursor, parameters }) {
  const path = cursor ?? `/repos/${parameters.owner}/${parameters.repo}/issues?sort=updated&direction=desc&state=all`
  const issues = await apiClient.get(path)
  return { records: issues.map((issue) => ({ id: String(issue.number), updatedTime: issue.updated_at, fields: { title: issue.title, state: issue.state } })) }
}
