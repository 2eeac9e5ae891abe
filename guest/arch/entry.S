// Interrupt and exception entry stubs, one per vector. Each makes the frame
// uniform (a 0 error code where the CPU pushes none, then the vector), saves
// every general register (frame.h) and calls arch_interrupt(frame). The
// handler may have replaced the frame with another thread's context, so the
// exit restores everything from it.
//
// The return is IRETQ on hardware. On PVM, IRETQ is emulated (~4.7 µs), so
// every return (all are kernel to kernel) is instead `popfq; ret` on the
// target stack with the vIF cell restored by hand (arch_pvm_fast_return).

        .text

        .macro  STUB vector
        .p2align 4
isr_stub_\vector:
        .if (\vector == 8) || (\vector == 10) || (\vector == 11) || (\vector == 12) || (\vector == 13) || (\vector == 14) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
        .else
        pushq   $0
        .endif
        pushq   $\vector
        jmp     isr_common
        .endm

        // The registers of the frame (frame.h), in reverse order of the pushes
        // in isr_common.
        .macro  POP_REGS
        pop     %r15
        pop     %r14
        pop     %r13
        pop     %r12
        pop     %r11
        pop     %r10
        pop     %r9
        pop     %r8
        pop     %rbp
        pop     %rdi
        pop     %rsi
        pop     %rdx
        pop     %rcx
        pop     %rbx
        pop     %rax
        .endm

        .altmacro
        .set    vec, 0
        .rept   256
        STUB    %vec
        .set    vec, vec + 1
        .endr

        .p2align 4
isr_common:
        push    %rax
        push    %rbx
        push    %rcx
        push    %rdx
        push    %rsi
        push    %rdi
        push    %rbp
        push    %r8
        push    %r9
        push    %r10
        push    %r11
        push    %r12
        push    %r13
        push    %r14
        push    %r15
        cld
        mov     %rsp, %rdi              // 16-byte aligned: 22 quadwords on an aligned IST top
        call    arch_interrupt
        cmpb    $0, arch_pvm_fast_return(%rip)
        jne     isr_return_pvm
        POP_REGS
        add     $16, %rsp               // vector, error code
        iretq

// PVM only (at hardware CPL0, POPFQ would set IF too early). RIP and RFLAGS
// go below the target RSP (no red zone in the kernel: that memory is free),
// the registers come from the frame, then the stack switches and vIF is set
// from the saved IF. From the vIF store on, an interrupt may arrive; it
// lands on IST2, which this path no longer uses, and its frame is just this
// stub at RSP - 16, resumable like any other context. The doorbell's AL is
// ignored, so no register is needed.
        .p2align 4
isr_return_pvm:
        mov     160(%rsp), %rax         // frame.rsp
        mov     136(%rsp), %rdx         // frame.rip
        mov     %rdx, -8(%rax)
        mov     152(%rsp), %rdx         // frame.rflags
        mov     %rdx, -16(%rax)
        POP_REGS
        mov     40(%rsp), %rsp          // frame.rsp (vector, error, rip, cs, rflags, rsp)
        sub     $16, %rsp
        btl     $9, (%rsp)              // IF in the saved RFLAGS
        jnc     1f
        movb    $1, %gs:0               // vIF on
        cmpb    $0, %gs:1               // pending while it was off?
        je      1f
        outb    %al, $0x80              // doorbell
1:      popfq                           // CPL3: leaves IF alone
        ret

        .macro  STUB_ADDR vector
        .quad   isr_stub_\vector
        .endm

        .section .rodata
        .p2align 3
        .globl  arch_isr_stubs
arch_isr_stubs:
        .set    vec, 0
        .rept   256
        STUB_ADDR %vec
        .set    vec, vec + 1
        .endr

        .section .note.GNU-stack, "", @progbits
