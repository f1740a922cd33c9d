import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.File;
import java.io.OutputStream;
import java.io.StringWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.StandardJavaFileManager;
import javax.tools.StandardLocation;
import javax.tools.ToolProvider;

/**
 * A long-lived javac for HumanEvalPack: one JVM compiles many programs, so each compile costs
 * milliseconds instead of a JVM start-up plus a cold javac.
 *
 * <p>Usage: {@code java CompileServer <spool-dir>}. The server listens on the
 * Unix socket {@code <spool-dir>/server.sock} and serves one client, one request at a time.
 *
 * <p>Request: {@code COMPILE <n> <timeout-seconds>\n} and {@code n} bytes of UTF-8 source. The
 * server writes it to
 * a fresh {@code <spool-dir>/job-<k>/Main.java} and compiles it there exactly as
 * {@code javac Main.java} run in that directory would (class path = that directory, class files
 * next to the source), then deletes the directory. Response: {@code <code> <n>\n} and {@code n}
 * bytes of diagnostics, then, for code 0 only, {@code <count>\n} and per class file
 * {@code <size> <relative path>\n} followed by its bytes. Codes: 0 compiled, 1 compile error,
 * 2 javac crashed, 3 timed out. After a crash or a timeout the server exits, because a stuck
 * javac thread cannot be stopped; the client starts a new server. {@code QUIT} or the end of
 * input stops the server.
 *
 * <p>Options match plain {@code javac Main.java} except {@code -proc:none} (no annotation
 * processors exist on that class path anyway) and {@code -encoding UTF-8} (JDK 18+'s default).
 */
public final class CompileServer {
    private static final List<String> OPTIONS = List.of("-proc:none", "-encoding", "UTF-8");

    private final Path spool;
    private final JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
    private final StandardJavaFileManager files;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(runnable -> {
        Thread thread = new Thread(runnable, "javac");
        thread.setDaemon(true);
        return thread;
    });
    private int jobs;

    private CompileServer(Path spool) {
        this.spool = spool;
        // One file manager for all jobs keeps the JDK's class index warm between compiles.
        this.files = compiler.getStandardFileManager(null, null, StandardCharsets.UTF_8);
    }

    public static void main(String[] args) throws Exception {
        Path spool = Path.of(args[0]).toAbsolutePath();
        Path socketPath = spool.resolve("server.sock");
        Files.deleteIfExists(socketPath);
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socketPath));
            try (SocketChannel client = server.accept()) {
                new CompileServer(spool).serve(
                        new DataInputStream(new BufferedInputStream(Channels.newInputStream(client))),
                        new BufferedOutputStream(Channels.newOutputStream(client)));
            }
        }
        System.exit(0);
    }

    private void serve(DataInputStream in, OutputStream out) throws Exception {
        String line;
        while ((line = readLine(in)) != null && !line.equals("QUIT")) {
            if (!line.startsWith("COMPILE ")) {
                respond(out, 2, "unknown request: " + line, spool, List.of());
                continue;
            }
            String[] fields = line.split(" ");
            byte[] source = new byte[Integer.parseInt(fields[1])];
            long timeoutMillis = (long) (Double.parseDouble(fields[2]) * 1000);
            in.readFully(source);
            Path dir = Files.createDirectory(spool.resolve("job-" + jobs++));
            Files.write(dir.resolve("Main.java"), source);
            StringWriter diagnostics = new StringWriter();
            Future<Boolean> result = worker.submit(() -> compile(dir, diagnostics));
            try {
                boolean ok = result.get(timeoutMillis, TimeUnit.MILLISECONDS);
                respond(out, ok ? 0 : 1, diagnostics.toString(), dir, ok ? classFiles(dir) : List.of());
            } catch (TimeoutException e) {
                respond(out, 3, "javac timed out after " + timeoutMillis + " ms", dir, List.of());
                Runtime.getRuntime().halt(3);
            } catch (ExecutionException e) {
                respond(out, 2, diagnostics + "\n" + e.getCause(), dir, List.of());
                Runtime.getRuntime().halt(2);
            }
            deleteTree(dir);
        }
    }

    private boolean compile(Path dir, StringWriter diagnostics) throws Exception {
        List<File> here = List.of(dir.toFile());
        files.setLocation(StandardLocation.CLASS_OUTPUT, null); // class files next to the source
        files.setLocation(StandardLocation.CLASS_PATH, here);
        files.setLocation(StandardLocation.SOURCE_PATH, here);
        var sources = files.getJavaFileObjects(dir.resolve("Main.java").toFile());
        return compiler.getTask(diagnostics, files, null, OPTIONS, null, sources).call();
    }

    private static List<Path> classFiles(Path dir) throws Exception {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(p -> p.toString().endsWith(".class")).sorted().toList();
        }
    }

    private static void respond(OutputStream out, int code, String text, Path dir,
            List<Path> classes) throws Exception {
        byte[] body = text.getBytes(StandardCharsets.UTF_8);
        out.write((code + " " + body.length + "\n").getBytes(StandardCharsets.UTF_8));
        out.write(body);
        if (code == 0) {
            out.write((classes.size() + "\n").getBytes(StandardCharsets.UTF_8));
            for (Path path : classes) {
                byte[] bytes = Files.readAllBytes(path);
                String name = dir.relativize(path).toString();
                out.write((bytes.length + " " + name + "\n").getBytes(StandardCharsets.UTF_8));
                out.write(bytes);
            }
        }
        out.flush();
    }

    private static String readLine(DataInputStream in) throws Exception {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) {
                return line.length() == 0 ? null : line.toString();
            }
            line.append((char) c);
        }
        return line.toString();
    }

    private static void deleteTree(Path dir) throws Exception {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path path : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }
}
