package io.marchproxy.xdp;

/**
 * The outcome of running the program on one frame through BPF_PROG_TEST_RUN.
 *
 * @param verdict what the program returned (for the last repetition)
 * @param averageNanos the kernel's average time per repetition
 * @param frameOut the frame as the program left it
 */
public record TestRun(Verdict verdict, long averageNanos, byte[] frameOut) {}
