// Exception-safe RDMSR for arch detection: on hardware KVM the PVM signature
// MSR does not exist and RDMSR raises #GP.
#include "guest/arch/asm_abi.h"

        .text

// extern "C" bool arch_probe_rdmsr(uint32_t msr, uint64_t* value);
// Returns false if RDMSR faulted (then *value = 0). R8 is the fault flag: the
// #GP handler below sets it, so no global state is needed.
        .p2align 4
        .globl  arch_probe_rdmsr
        .type   arch_probe_rdmsr, @function
arch_probe_rdmsr:
        mov     %edi, %ecx
        xor     %eax, %eax
        xor     %edx, %edx
        xor     %r8d, %r8d
arch_probe_rdmsr_insn:
        rdmsr                           // 2 bytes: the handler skips exactly these
        shl     $32, %rdx
        or      %rdx, %rax
        mov     %rax, (%rsi)
        mov     %r8d, %eax
        xor     $1, %eax
        ret
        .size   arch_probe_rdmsr, . - arch_probe_rdmsr

// #GP gate installed only while probing. Frame: error code, RIP, CS, RFLAGS,
// RSP, SS. A #GP anywhere else is a kernel bug: stop the VM as a panic.
        .p2align 4
        .globl  arch_probe_gp_entry
        .type   arch_probe_gp_entry, @function
arch_probe_gp_entry:
        push    %rax
        lea     arch_probe_rdmsr_insn(%rip), %rax
        cmp     %rax, 16(%rsp)
        jne     1f
        add     $2, %rax
        mov     %rax, 16(%rsp)
        mov     $1, %r8d
        pop     %rax
        add     $8, %rsp                // drop the error code
        iretq
1:      mov     $SSIVM_EXIT_PANIC, %eax
        mov     $SSIVM_PORT_DEBUG_EXIT, %dx
        outl    %eax, %dx
2:      hlt
        jmp     2b
        .size   arch_probe_gp_entry, . - arch_probe_gp_entry

        .section .note.GNU-stack, "", @progbits
