import http from 'k6/http';
const levels = (__ENV.LEVELS || '2,4,8,16').split(',').map(Number);
const hold = __ENV.HOLD || '3s';
export const options = {
  scenarios: { steps: { executor: 'ramping-vus', startVUs: levels[0],
    stages: levels.flatMap((n) => [{ duration: '0s', target: n }, { duration: hold, target: n }]) } },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)', 'count'],
};
export default function () { http.get(__ENV.TARGET); }
