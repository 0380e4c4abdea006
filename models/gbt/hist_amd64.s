//go:build !purego

#include "textflag.h"

// The kernels of hist_amd64.go. A gradient pair (16 bytes) is added to a histogram bin
// with one packed load, ADDPD and store: the same IEEE additions, lane by lane, as the two
// scalar ones of the Go code, with half the stores (which bound the loop). R14 and R15 are
// free in ABI0 code (the ABI wrapper restores them).

// UPD adds X0 to bin (col)[row] of hist. col and hist are registers.
#define UPD(col, hist, row) \
	MOVBQZX (col)(row*1), AX; \
	SHLQ $4, AX; \
	MOVUPD (hist)(AX*1), X1; \
	ADDPD X0, X1; \
	MOVUPD X1, (hist)(AX*1)

// UPDM is UPD with the column's base pointer at offset off of the array in DI.
#define UPDM(off, hist, row) \
	MOVQ off(DI), AX; \
	MOVBQZX (AX)(row*1), AX; \
	SHLQ $4, AX; \
	MOVUPD (hist)(AX*1), X1; \
	ADDPD X0, X1; \
	MOVUPD X1, (hist)(AX*1)

// LOAD4 puts the first 4 histograms of h in R8–R11 and the first 4 columns of c in R12–R15.
#define LOAD4 \
	MOVQ h+0(FP), AX; \
	MOVQ 0(AX), R8; \
	MOVQ 8(AX), R9; \
	MOVQ 16(AX), R10; \
	MOVQ 24(AX), R11; \
	MOVQ c+8(FP), AX; \
	MOVQ 0(AX), R12; \
	MOVQ 8(AX), R13; \
	MOVQ 16(AX), R14; \
	MOVQ 24(AX), R15

// LOADH8 puts the 8 histograms of h in R8–R15.
#define LOADH8 \
	MOVQ h+0(FP), AX; \
	MOVQ 0(AX), R8; \
	MOVQ 8(AX), R9; \
	MOVQ 16(AX), R10; \
	MOVQ 24(AX), R11; \
	MOVQ 32(AX), R12; \
	MOVQ 40(AX), R13; \
	MOVQ 48(AX), R14; \
	MOVQ 56(AX), R15

// func hist4Asm(h *[8]*[256]gh, c *[8]*uint8, og *gh, n int)
TEXT ·hist4Asm(SB), NOSPLIT, $0-32
	LOAD4
	MOVQ og+16(FP), SI
	MOVQ n+24(FP), CX
	XORQ DX, DX
	TESTQ CX, CX
	JLE done4

loop4:
	MOVUPD (SI), X0
	UPD(R12, R8, DX)
	UPD(R13, R9, DX)
	UPD(R14, R10, DX)
	UPD(R15, R11, DX)
	ADDQ $16, SI
	INCQ DX
	CMPQ DX, CX
	JLT  loop4

done4:
	RET

// func hist4RowsAsm(h *[8]*[256]gh, c *[8]*uint8, og *gh, rows *int32, n int)
TEXT ·hist4RowsAsm(SB), NOSPLIT, $0-40
	LOAD4
	MOVQ og+16(FP), SI
	MOVQ rows+24(FP), DI
	MOVQ n+32(FP), CX
	XORQ DX, DX
	TESTQ CX, CX
	JLE  rdone4

rloop4:
	MOVUPD  (SI), X0
	MOVLQSX (DI)(DX*4), BX
	UPD(R12, R8, BX)
	UPD(R13, R9, BX)
	UPD(R14, R10, BX)
	UPD(R15, R11, BX)
	ADDQ $16, SI
	INCQ DX
	CMPQ DX, CX
	JLT  rloop4

rdone4:
	RET

// func hist8Asm(h *[8]*[256]gh, c *[8]*uint8, og *gh, n int)
TEXT ·hist8Asm(SB), NOSPLIT, $0-32
	LOADH8
	MOVQ c+8(FP), DI
	MOVQ og+16(FP), SI
	MOVQ n+24(FP), CX
	XORQ DX, DX
	TESTQ CX, CX
	JLE  done8

loop8:
	MOVUPD (SI), X0
	UPDM(0, R8, DX)
	UPDM(8, R9, DX)
	UPDM(16, R10, DX)
	UPDM(24, R11, DX)
	UPDM(32, R12, DX)
	UPDM(40, R13, DX)
	UPDM(48, R14, DX)
	UPDM(56, R15, DX)
	ADDQ $16, SI
	INCQ DX
	CMPQ DX, CX
	JLT  loop8

done8:
	RET

// func hist8RowsAsm(h *[8]*[256]gh, c *[8]*uint8, og *gh, rows *int32, n int)
TEXT ·hist8RowsAsm(SB), NOSPLIT, $0-40
	LOADH8
	MOVQ c+8(FP), DI
	MOVQ og+16(FP), SI
	MOVQ rows+24(FP), CX
	XORQ DX, DX
	CMPQ DX, n+32(FP)
	JGE  rdone8

rloop8:
	MOVUPD  (SI), X0
	MOVLQSX (CX)(DX*4), BX
	UPDM(0, R8, BX)
	UPDM(8, R9, BX)
	UPDM(16, R10, BX)
	UPDM(24, R11, BX)
	UPDM(32, R12, BX)
	UPDM(40, R13, BX)
	UPDM(48, R14, BX)
	UPDM(56, R15, BX)
	ADDQ $16, SI
	INCQ DX
	CMPQ DX, n+32(FP)
	JLT  rloop8

rdone8:
	RET
