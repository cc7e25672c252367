export default async function handle({ data, headers, parameters, rawBody }) {
  const signature = 'sha256=' + createHmac('sha256', parameters.webhookSecret).update(rawBody).digest('hex')
  if (!timingSafeEqual(signature, headers['x-hub-signature-256'] ?? '')) {
    return { events: [], response: { status: 401 } }
  }
  if (headers['x-github-event'] !== 'issue_comment' || !data.comment?.body?.includes('@inlet')) {
    return { events: [] }
  }
  return {
    events: [{
      selector: `installation:${data.installation.id}`,
      payload: { record: { id: String(data.comment.id), body: data.comment.body } },
    }],
  }
}
