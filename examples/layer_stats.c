/* Layer statistics of a small batch, as an OpenMP benchmark prints them.
 * Built with -DARTS it takes the code path of its ARTS port, where one sum
 * (the variance's) is accumulated in float: the wrong-code example of the
 * README, reduced with `--reference-command 'gcc ... && ./ref'
 * --candidate-command 'gcc -DARTS ... && ./arts'`. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define BATCH 8
#define HIDDEN 4096

typedef struct {
  double mean;
  double var;
  double max;
} Stats;

static void init(double *x, int n) {
  for (int i = 0; i < n; i++)
    x[i] = sin(0.001 * i) * 3.0 + (double)(i % 7) * 0.125;
}

static double row_mean(const double *row, int n) {
  double sum = 0.0;
  for (int h = 0; h < n; h++)
    sum += row[h];
  return sum / n;
}

static double row_var(const double *row, int n, double mean) {
#ifdef ARTS
  float acc = 0.0f;
#else
  double acc = 0.0;
#endif
  for (int h = 0; h < n; h++) {
    double d = row[h] - mean;
    acc += d * d;
  }
  return acc / n;
}

static double row_max(const double *row, int n) {
  double m = row[0];
  for (int h = 1; h < n; h++)
    if (row[h] > m)
      m = row[h];
  return m;
}

static int verify(const Stats *stats, int batch) {
  for (int b = 0; b < batch; b++)
    if (!isfinite(stats[b].mean) || !(stats[b].var >= 0.0))
      return 0;
  return 1;
}

static void layer_stats(const double *x, Stats *out, int batch, int n) {
#pragma omp parallel for schedule(static)
  for (int b = 0; b < batch; b++) {
    const double *row = x + (size_t)b * n;
    out[b].mean = row_mean(row, n);
    out[b].var = row_var(row, n, out[b].mean);
    out[b].max = row_max(row, n);
  }
}

int main(void) {
  double *x = malloc(sizeof(double) * BATCH * HIDDEN);
  Stats *stats = malloc(sizeof(Stats) * BATCH);
  if (!x || !stats) {
    fprintf(stderr, "allocation failure\n");
    return 1;
  }
  init(x, BATCH * HIDDEN);

  double start = omp_get_wtime();
  layer_stats(x, stats, BATCH, HIDDEN);
  double elapsed = omp_get_wtime() - start;

  double checksum = 0.0;
  for (int b = 0; b < BATCH; b++) {
    printf("row %d: mean %.9f var %.9f max %.6f\n", b, stats[b].mean, stats[b].var, stats[b].max);
    checksum += stats[b].mean + stats[b].var;
  }
  printf("checksum: %.12e\n", checksum);
  printf("Verification: %s\n", verify(stats, BATCH) ? "PASS" : "FAIL");
  printf("time: %.6f\n", elapsed);

  free(x);
  free(stats);
  return 0;
}
