// Line 1
function check(value) {
  return value > 0
}

export default async function subscribe({ parameters }) {
  if (!check(parameters.count)) throw new Error('count must be positive')
  return { state: {} }
}
