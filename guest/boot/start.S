// Kernel entry for every vCPU (guest/abi/boot_info.h): 64-bit mode, identity
// paging, RDI = vCPU index, RSI = boot_params, RSP = top of the vCPU's boot
// stack. All vCPUs arrive here at the same time.
#include "guest/arch/asm_abi.h"

        .section .text.entry, "ax"
        .globl  _start
        .type   _start, @function
_start:
        mov     %edi, %r12d             // callee-saved: they survive to kmain
        mov     %rsi, %r13
        // Milestone first: tells the VMM "the kernel ran" before anything can fail.
        mov     %edi, %eax
        shl     $16, %eax
        or      $SSIVM_MILESTONE_ENTRY, %eax
        mov     $SSIVM_PORT_BOOT_PROGRESS, %dx
        outl    %eax, %dx
        cld                             // the C++ ABI expects DF = 0
        // vCPU 0 zeroes .bss (even if the loader did). The APs do not touch
        // .bss before the boot vCPU releases them (smp.h).
        test    %r12d, %r12d
        jnz     1f
        lea     __bss_start(%rip), %rdi
        lea     __bss_end(%rip), %rcx
        sub     %rdi, %rcx
        xor     %eax, %eax
        rep stosb
1:      and     $-16, %rsp              // 16-byte aligned at the call (SysV ABI)
        xor     %ebp, %ebp              // ends frame-pointer backtraces
        mov     %r12d, %edi
        mov     %r13, %rsi
        call    kmain
        // kmain does not return; if it ever does, stop the VM as a panic.
        mov     $SSIVM_EXIT_PANIC, %eax
        mov     $SSIVM_PORT_DEBUG_EXIT, %dx
        outl    %eax, %dx
2:      hlt
        jmp     2b
        .size   _start, . - _start

        .section .note.GNU-stack, "", @progbits
