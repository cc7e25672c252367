// Newest issues first (pull requests, which the issues API lists too, are left out).
// https://docs.github.com/rest/issues/issues#list-repository-issues
export default async function pullLatestRecords({ apiClient, cursor, parameters }) {
  const page = cursor ? Number(cursor) : 1
  const issues = await apiClient.get(`/repos/${parameters.owner}/${parameters.repo}/issues`, {
    state: 'all', sort: 'created', direction: 'desc', per_page: '50', page: String(page),
  })
  return {
    records: issues.filter((issue) => !issue.pull_request).map(toRecord),
    cursor: issues.length === 50 ? String(page + 1) : undefined,
  }
}

function toRecord(issue) {
  return {
    id: String(issue.number),
    name: issue.title,
    createdTime: issue.created_at,
    updatedTime: issue.updated_at,
    fields: {
      title: issue.title,
      state: issue.state,
      url: issue.html_url,
      author: issue.user?.login ?? null,
      labels: (issue.labels ?? []).map((label) => (typeof label === 'string' ? label : label.name)),
    },
  }
}
