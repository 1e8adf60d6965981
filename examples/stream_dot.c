/* STREAM-style kernels with a dot-product reduction: an OpenMP benchmark
 * whose ARTS build (the stand-in `carts execute`) prints a different
 * checksum than its OpenMP build, because of the reduction on a double. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef N
#define N 20000
#endif

#ifndef NTIMES
#define NTIMES 3
#endif

#define SCALAR 3.0

static double elapsed_since(double start) { return omp_get_wtime() - start; }

static void init_arrays(double *a, double *b, double *c, int n) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++) {
    a[i] = 1.0 + (double)(i % 17) * 0.1;
    b[i] = 2.0 - (double)(i % 13) * 0.05;
    c[i] = 0.0;
  }
}

static void copy(double *c, const double *a, int n) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++)
    c[i] = a[i];
}

static void scale(double *b, const double *c, int n) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++)
    b[i] = SCALAR * c[i];
}

static void add(double *c, const double *a, const double *b, int n) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++)
    c[i] = a[i] + b[i];
}

static void triad(double *a, const double *b, const double *c, int n) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; i++)
    a[i] = b[i] + SCALAR * c[i];
}

static double dot(const double *x, const double *y, int n) {
  double sum = 0.0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
  for (int i = 0; i < n; i++)
    sum += x[i] * y[i] / 7.0;
  return sum;
}

static double max_abs(const double *x, int n) {
  double m = 0.0;
  for (int i = 0; i < n; i++) {
    double v = fabs(x[i]);
    if (v > m)
      m = v;
  }
  return m;
}

int main(void) {
  double *a = malloc(sizeof(double) * N);
  double *b = malloc(sizeof(double) * N);
  double *c = malloc(sizeof(double) * N);
  if (!a || !b || !c) {
    fprintf(stderr, "allocation failure\n");
    return 1;
  }
  double start = omp_get_wtime();
  init_arrays(a, b, c, N);
  printf("init.omp: %.9fs\n", elapsed_since(start));

  double kernels = omp_get_wtime();
  for (int k = 0; k < NTIMES; k++) {
    copy(c, a, N);
    scale(b, c, N);
    add(c, a, b, N);
    triad(a, b, c, N);
  }
  printf("kernel.stream: %.6fs\n", elapsed_since(kernels));

  double d = dot(a, b, N);
  printf("max |a|: %.6f\n", max_abs(a, N));
  printf("checksum: %.12e\n", d);
  printf("time: %.6f\n", elapsed_since(start));

  free(a);
  free(b);
  free(c);
  return 0;
}
