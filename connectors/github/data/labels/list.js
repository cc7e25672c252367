// https://docs.github.com/rest/issues/labels#list-labels-for-a-repository
export default async function list({ apiClient, cursor, parameters }) {
  const page = cursor ? Number(cursor) : 1
  const labels = await apiClient.get(`/repos/${parameters.owner}/${parameters.repo}/labels`, {
    per_page: '100', page: String(page),
  })
  return {
    records: labels.map((label) => ({
      id: String(label.id),
      name: label.name,
      fields: { color: label.color, description: label.description ?? null, url: label.url },
    })),
    cursor: labels.length === 100 ? String(page + 1) : undefined,
  }
}
