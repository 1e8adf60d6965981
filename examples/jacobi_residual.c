/* 1-D Jacobi smoother with a residual norm, as an OpenMP benchmark runs it:
 * sweeps over a grid, and after each sweep the squared residual, summed by a
 * parallel-for reduction on a double. Its ARTS build (the stand-in `carts
 * execute`) prints other residuals than its OpenMP build: the reduction is
 * the stand-in's miscompile. Reduced in the README's wrong-code example and
 * in tests/test_wrongcode_e2e.py. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef N
#define N 4096
#endif

#ifndef SWEEPS
#define SWEEPS 4
#endif

#define OMEGA 0.8

static double *alloc_grid(int n) {
  double *grid = malloc(sizeof(double) * n);
  if (!grid) {
    fprintf(stderr, "allocation failure\n");
    exit(1);
  }
  return grid;
}

static void init(double *u, double *f, int n) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++) {
    u[i] = 0.0;
    f[i] = sin(0.01 * i) + 0.5;
  }
}

static void sweep(double *out, const double *u, const double *f, int n) {
#pragma omp parallel for schedule(static)
  for (int i = 1; i < n - 1; i++) {
    double jacobi = 0.5 * (u[i - 1] + u[i + 1] + f[i]);
    out[i] = (1.0 - OMEGA) * u[i] + OMEGA * jacobi;
  }
  out[0] = u[0];
  out[n - 1] = u[n - 1];
}

static double residual(const double *u, const double *f, int n) {
  double sum = 0.0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
  for (int i = 1; i < n - 1; i++) {
    double r = f[i] + u[i - 1] - 2.0 * u[i] + u[i + 1];
    sum += r * r;
  }
  return sqrt(sum);
}

static double checksum(const double *u, int n) {
  double total = 0.0;
  for (int i = 0; i < n; i++)
    total += u[i];
  return total;
}

int main(void) {
  double *u = alloc_grid(N), *next = alloc_grid(N), *f = alloc_grid(N);
  init(u, f, N);
  init(next, f, N);

  double start = omp_get_wtime();
  for (int s = 0; s < SWEEPS; s++) {
    sweep(next, u, f, N);
    double *swap = u;
    u = next;
    next = swap;
    printf("sweep %d: residual %.12e\n", s, residual(u, f, N));
  }
  double elapsed = omp_get_wtime() - start;

  printf("checksum: %.12e\n", checksum(u, N));
  printf("Verification: %s\n", isfinite(checksum(u, N)) ? "PASS" : "FAIL");
  printf("time: %.6f\n", elapsed);
  free(u);
  free(next);
  free(f);
  return 0;
}
