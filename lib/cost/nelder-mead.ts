/**
 * Minimises f over R^d with the Nelder–Mead simplex method (standard coefficients
 * 1, 2, 0.5, 0.5). Small and derivative-free: the roofline fit has three parameters
 * and a max() kink where gradients are undefined.
 */
export function nelderMead(f: (x: number[]) => number, x0: number[], opts: { step?: number; maxIter?: number; tol?: number } = {}): { x: number[]; value: number } {
  const d = x0.length;
  const step = opts.step ?? 0.5;
  const maxIter = opts.maxIter ?? 2000;
  const tol = opts.tol ?? 1e-12;
  let simplex = [x0.slice()];
  for (let i = 0; i < d; i++) {
    const x = x0.slice();
    x[i] += step;
    simplex.push(x);
  }
  let values = simplex.map(f);
  const combine = (a: number[], b: number[], t: number): number[] => a.map((ai, i) => ai + t * (b[i] - ai));
  for (let iter = 0; iter < maxIter; iter++) {
    const order = values.map((v, i) => i).sort((i, j) => values[i] - values[j]);
    simplex = order.map((i) => simplex[i]);
    values = order.map((i) => values[i]);
    if (Math.abs(values[d] - values[0]) <= tol * (Math.abs(values[0]) + tol)) break;
    const centroid = new Array(d).fill(0);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) centroid[j] += simplex[i][j] / d;
    const worst = simplex[d];
    const reflected = combine(centroid, worst, -1);
    const fr = f(reflected);
    if (fr < values[0]) {
      const expanded = combine(centroid, worst, -2);
      const fe = f(expanded);
      if (fe < fr) [simplex[d], values[d]] = [expanded, fe];
      else [simplex[d], values[d]] = [reflected, fr];
    } else if (fr < values[d - 1]) {
      [simplex[d], values[d]] = [reflected, fr];
    } else {
      const contracted = fr < values[d] ? combine(centroid, reflected, 0.5) : combine(centroid, worst, 0.5);
      const fc = f(contracted);
      if (fc < Math.min(fr, values[d])) [simplex[d], values[d]] = [contracted, fc];
      else {
        for (let i = 1; i <= d; i++) {
          simplex[i] = combine(simplex[0], simplex[i], 0.5);
          values[i] = f(simplex[i]);
        }
      }
    }
  }
  let best = 0;
  for (let i = 1; i <= d; i++) if (values[i] < values[best]) best = i;
  return { x: simplex[best], value: values[best] };
}
