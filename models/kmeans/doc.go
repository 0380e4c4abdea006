// Package kmeans clusters the rows of a dense row-major matrix with k-means: Lloyd's
// algorithm from k-means++ seeds with several restarts, or mini-batch k-means for large
// inputs, together with the measures used to choose k and to judge a clustering (silhouette,
// BIC, adjusted Rand index, bootstrap stability).
//
// Matrices are flat []float64 slices of n rows of dim values each (row i is
// x[i*dim:(i+1)*dim]); centroids use the same layout.
package kmeans
