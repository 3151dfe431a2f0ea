package org.muster;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * A child JVM running {@code org.muster.it.Child} with a role, for the multi-process tests: its
 * stdout lines are collected as they come, stdin takes commands ("stop"), and every wait has a
 * watchdog that kills the child and fails the test instead of hanging.
 */
final class Jvm implements AutoCloseable {
    private static final AtomicLong COUNTER = new AtomicLong();
    private final String role;
    private final Process process;
    private final List<String> lines = new ArrayList<>();
    private final StringBuilder stderr = new StringBuilder();
    private final Writer stdin;
    private final Thread outPump;
    private final Thread errPump;

    /** A region name unique to this test process and call (other agents run tests too). */
    static String uniqueName(String tag) {
        return "java-" + ProcessHandle.current().pid() + "-" + COUNTER.incrementAndGet() + "-"
                + Long.toHexString(System.nanoTime() & 0xffffff) + "-" + tag;
    }

    Jvm(String role, String... args) throws IOException {
        this.role = role;
        List<String> cmd = new ArrayList<>();
        cmd.add(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
        cmd.add("-cp");
        // The launcher's own class path is its jar: the script passes ours explicitly.
        cmd.add(System.getProperty("muster.test.classpath", System.getProperty("java.class.path")));
        String lib = System.getProperty("muster.lib");
        if (lib != null) {
            cmd.add("-Dmuster.lib=" + lib);
        }
        // Small, fast-starting children: the tests measure behaviour, not speed.
        cmd.add("-XX:+UseSerialGC");
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-Xmx64m");
        cmd.add("org.muster.it.Child");
        cmd.add(role);
        for (String a : args) {
            cmd.add(a);
        }
        process = new ProcessBuilder(cmd).start();
        stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        Thread out = outPump = new Thread(() -> pump(new BufferedReader(new InputStreamReader(
                process.getInputStream(), StandardCharsets.UTF_8)), true), role + "-stdout");
        Thread err = errPump = new Thread(() -> pump(new BufferedReader(new InputStreamReader(
                process.getErrorStream(), StandardCharsets.UTF_8)), false), role + "-stderr");
        process.onExit().thenRun(() -> {
            synchronized (this) {
                notifyAll(); // wake awaitLines: the child is gone
            }
        });
        out.setDaemon(true);
        err.setDaemon(true);
        out.start();
        err.start();
    }

    private void pump(BufferedReader r, boolean isOut) {
        try {
            for (String line; (line = r.readLine()) != null; ) {
                synchronized (this) {
                    if (isOut) {
                        lines.add(line);
                    } else {
                        stderr.append(line).append('\n');
                    }
                    notifyAll();
                }
            }
        } catch (IOException e) {
            // the child is gone
        }
    }

    synchronized List<String> lines() {
        return new ArrayList<>(lines);
    }

    synchronized String stderr() {
        return stderr.toString();
    }

    /** Waits until {@code count} stdout lines match, or fails after {@code seconds}. */
    synchronized void awaitLines(Predicate<String> match, int count, double seconds)
            throws InterruptedException {
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        while (true) {
            long n = lines.stream().filter(match).count();
            if (n >= count) {
                return;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0 || !process.isAlive() && n < count) {
                if (!process.isAlive()) {
                    wait(200); // let the pumps drain
                    if (lines.stream().filter(match).count() >= count) {
                        return;
                    }
                }
                throw new AssertionError(role + ": " + n + " of " + count + " expected lines after "
                        + seconds + " s (alive: " + process.isAlive() + ")\nstdout tail: "
                        + tail() + "\nstderr: " + stderr);
            }
            wait(Math.max(1, left / 1_000_000));
        }
    }

    private String tail() {
        int from = Math.max(0, lines.size() - 10);
        return String.join("\n", lines.subList(from, lines.size()));
    }

    /** Sends one line to the child's stdin. */
    void send(String line) throws IOException {
        stdin.write(line + "\n");
        stdin.flush();
    }

    /** Waits for exit; fails (killing it) after {@code seconds} or on a non-zero status. */
    void awaitSuccess(double seconds) throws InterruptedException {
        if (!process.waitFor((long) (seconds * 1000), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError(role + " did not finish in " + seconds + " s (killed)\nstdout tail: "
                    + tail() + "\nstderr: " + stderr());
        }
        drain();
        synchronized (this) {
            int rc = process.exitValue();
            if (rc != 0) {
                throw new AssertionError(role + " exited with " + rc + "\nstdout tail: " + tail()
                        + "\nstderr: " + stderr);
            }
        }
    }

    /**
     * SIGKILL, wait for it to be gone, then read everything it wrote before it died.
     *
     * <p>The signal goes through the {@link ProcessHandle}: {@code Process.destroyForcibly()}
     * also closes our ends of the child's stdout and stderr right after signalling (OpenJDK's
     * {@code ProcessImpl.destroy}), which throws away every line still in the pipe that the
     * pumps had not read yet; on a loaded machine that was dozens of lines, so a test could not
     * tell "the child never printed it" from "we dropped it".
     */
    void kill() throws InterruptedException {
        process.toHandle().destroyForcibly();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            throw new AssertionError(role + " survived SIGKILL");
        }
        drain();
    }

    /** After exit: wait until the pumps have read everything the child wrote (to EOF). */
    private void drain() throws InterruptedException {
        outPump.join(10_000);
        errPump.join(10_000);
        if (outPump.isAlive() || errPump.isAlive()) {
            throw new AssertionError(role + ": its output was not read to the end within 10 s of its exit");
        }
    }

    long pid() {
        return process.pid();
    }

    /** Kills the child if it is still running (test cleanup). */
    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
        }
    }

    /** The tickets of the events named {@code ev} in lines "EV name ticket". */
    List<Long> tickets(String ev) {
        List<Long> t = new ArrayList<>();
        for (String l : lines()) {
            String[] f = l.split(" ");
            if (f.length == 3 && f[0].equals("EV") && f[1].equals(ev)) {
                t.add(Long.parseLong(f[2]));
            }
        }
        return t;
    }
}
