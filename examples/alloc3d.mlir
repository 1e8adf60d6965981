// A small program in the shape `carts cgeist` gives: a 3-D array built by
// malloc in loops (float ***), as alloc_3d in the llama2 transformer, next
// to a 2-D one and some arithmetic. canonicalize-memrefs fails on the 3-D one.
module attributes {llvm.data_layout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128", llvm.target_triple = "x86_64-unknown-linux-gnu"} {
  func.func @alloc_2d(%arg0: i32, %arg1: i32) -> memref<?xmemref<?xf32>> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %0 = arith.index_cast %arg0 : i32 to index
    %1 = arith.index_cast %arg1 : i32 to index
    %alloc = memref.alloc(%0) : memref<?xmemref<?xf32>>
    scf.for %arg2 = %c0 to %0 step %c1 {
      %alloc_0 = memref.alloc(%1) : memref<?xf32>
      memref.store %alloc_0, %alloc[%arg2] : memref<?xmemref<?xf32>>
    }
    return %alloc : memref<?xmemref<?xf32>>
  }
  func.func @alloc_3d(%arg0: i32, %arg1: i32, %arg2: i32) -> memref<?xmemref<?xmemref<?xf32>>> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %0 = arith.index_cast %arg0 : i32 to index
    %1 = arith.index_cast %arg1 : i32 to index
    %2 = arith.index_cast %arg2 : i32 to index
    %alloc = memref.alloc(%0) : memref<?xmemref<?xmemref<?xf32>>>
    scf.for %arg3 = %c0 to %0 step %c1 {
      %alloc_0 = memref.alloc(%1) : memref<?xmemref<?xf32>>
      scf.for %arg4 = %c0 to %1 step %c1 {
        %alloc_1 = memref.alloc(%2) : memref<?xf32>
        memref.store %alloc_1, %alloc_0[%arg4] : memref<?xmemref<?xf32>>
      }
      memref.store %alloc_0, %alloc[%arg3] : memref<?xmemref<?xmemref<?xf32>>>
    }
    return %alloc : memref<?xmemref<?xmemref<?xf32>>>
  }
  func.func @rmsnorm(%arg0: memref<?xf32>, %arg1: memref<?xf32>, %arg2: memref<?xf32>, %arg3: i32) {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 9.99999974E-6 : f32
    %cst_1 = arith.constant 1.000000e+00 : f32
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %0 = arith.index_cast %arg3 : i32 to index
    %1 = scf.for %arg4 = %c0 to %0 step %c1 iter_args(%arg5 = %cst) -> (f32) {
      %6 = memref.load %arg1[%arg4] : memref<?xf32>
      %7 = arith.mulf %6, %6 : f32
      %8 = arith.addf %arg5, %7 : f32
      scf.yield %8 : f32
    }
    %2 = arith.sitofp %arg3 : i32 to f32
    %3 = arith.divf %1, %2 : f32
    %4 = arith.addf %3, %cst_0 : f32
    %5 = math.sqrt %4 : f32
    %r = arith.divf %cst_1, %5 : f32
    scf.for %arg4 = %c0 to %0 step %c1 {
      %6 = memref.load %arg2[%arg4] : memref<?xf32>
      %7 = memref.load %arg1[%arg4] : memref<?xf32>
      %8 = arith.mulf %r, %7 : f32
      %9 = arith.mulf %6, %8 : f32
      memref.store %9, %arg0[%arg4] : memref<?xf32>
    }
    return
  }
  func.func @main() -> i32 {
    %c0_i32 = arith.constant 0 : i32
    %c4_i32 = arith.constant 4 : i32
    %c8_i32 = arith.constant 8 : i32
    %c16_i32 = arith.constant 16 : i32
    %c0 = arith.constant 0 : index
    %0 = call @alloc_2d(%c8_i32, %c16_i32) : (i32, i32) -> memref<?xmemref<?xf32>>
    %1 = call @alloc_3d(%c4_i32, %c8_i32, %c16_i32) : (i32, i32, i32) -> memref<?xmemref<?xmemref<?xf32>>>
    %2 = memref.load %0[%c0] : memref<?xmemref<?xf32>>
    %3 = memref.load %1[%c0] : memref<?xmemref<?xmemref<?xf32>>>
    %4 = memref.load %3[%c0] : memref<?xmemref<?xf32>>
    call @rmsnorm(%4, %2, %2, %c16_i32) : (memref<?xf32>, memref<?xf32>, memref<?xf32>, i32) -> ()
    memref.dealloc %2 : memref<?xf32>
    memref.dealloc %0 : memref<?xmemref<?xf32>>
    memref.dealloc %1 : memref<?xmemref<?xmemref<?xf32>>>
    return %c0_i32 : i32
  }
}
