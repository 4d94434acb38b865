package no.rop.kb.build;

import java.io.IOException;
import java.io.Writer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import javax.annotation.processing.AbstractProcessor;
import javax.annotation.processing.RoundEnvironment;
import javax.annotation.processing.SupportedAnnotationTypes;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.AnnotationMirror;
import javax.lang.model.element.AnnotationValue;
import javax.lang.model.element.Element;
import javax.lang.model.element.ElementKind;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.TypeElement;
import javax.lang.model.type.DeclaredType;
import javax.lang.model.type.TypeKind;
import javax.lang.model.type.TypeMirror;
import javax.tools.Diagnostic;
import javax.tools.FileObject;
import javax.tools.StandardLocation;

/**
 * Build-time only (not shipped in the plugin jar): writes {@code named_components.json}, the file an
 * Elasticsearch stable plugin uses to declare its components. Format (as read by the server's
 * NamedComponentReader): {"<@Extensible interface>": {"<component name>": "<implementation class>"}}.
 * Elastic's Gradle plugin generates the same file with its NamedComponentScanner; this is the Maven
 * equivalent, done with an annotation processor over {@code @NamedComponent}.
 */
@SupportedAnnotationTypes("org.elasticsearch.plugin.NamedComponent")
public final class NamedComponentsProcessor extends AbstractProcessor {

    private static final String NAMED_COMPONENT = "org.elasticsearch.plugin.NamedComponent";
    private static final String EXTENSIBLE = "org.elasticsearch.plugin.Extensible";
    private static final String FILE_NAME = "named_components.json";

    private final Map<String, Map<String, String>> components = new TreeMap<>();

    @Override
    public SourceVersion getSupportedSourceVersion() {
        return SourceVersion.latestSupported();
    }

    @Override
    public boolean process(Set<? extends TypeElement> annotations, RoundEnvironment roundEnv) {
        for (TypeElement annotation : annotations) {
            for (Element element : roundEnv.getElementsAnnotatedWith(annotation)) {
                if (element.getKind() != ElementKind.CLASS) {
                    continue;
                }
                TypeElement type = (TypeElement) element;
                String name = componentName(type);
                String extensible = findExtensible(type);
                if (extensible == null) {
                    processingEnv.getMessager()
                        .printMessage(Diagnostic.Kind.ERROR, "@NamedComponent class implements no @Extensible interface", type);
                    continue;
                }
                String impl = processingEnv.getElementUtils().getBinaryName(type).toString();
                String previous = components.computeIfAbsent(extensible, k -> new TreeMap<>()).put(name, impl);
                if (previous != null && previous.equals(impl) == false) {
                    processingEnv.getMessager().printMessage(Diagnostic.Kind.ERROR, "duplicate component name " + name, type);
                }
            }
        }
        if (roundEnv.processingOver()) {
            write();
        }
        return false;
    }

    private static String componentName(TypeElement type) {
        for (AnnotationMirror mirror : type.getAnnotationMirrors()) {
            if (((TypeElement) mirror.getAnnotationType().asElement()).getQualifiedName().contentEquals(NAMED_COMPONENT)) {
                for (Map.Entry<? extends ExecutableElement, ? extends AnnotationValue> e : mirror.getElementValues().entrySet()) {
                    if (e.getKey().getSimpleName().contentEquals("value")) {
                        return String.valueOf(e.getValue().getValue());
                    }
                }
            }
        }
        throw new IllegalStateException("no @NamedComponent value on " + type);
    }

    /** Breadth-first over superclasses and interfaces for the first type annotated with @Extensible. */
    private static String findExtensible(TypeElement start) {
        Deque<TypeElement> queue = new ArrayDeque<>();
        Set<String> seen = new HashSet<>();
        queue.add(start);
        while (queue.isEmpty() == false) {
            TypeElement t = queue.removeFirst();
            if (seen.add(t.getQualifiedName().toString()) == false) {
                continue;
            }
            if (t != start) {
                for (AnnotationMirror m : t.getAnnotationMirrors()) {
                    if (((TypeElement) m.getAnnotationType().asElement()).getQualifiedName().contentEquals(EXTENSIBLE)) {
                        return t.getQualifiedName().toString();
                    }
                }
            }
            enqueue(queue, t.getSuperclass());
            for (TypeMirror i : t.getInterfaces()) {
                enqueue(queue, i);
            }
        }
        return null;
    }

    private static void enqueue(Deque<TypeElement> queue, TypeMirror mirror) {
        if (mirror != null && mirror.getKind() == TypeKind.DECLARED) {
            queue.addLast((TypeElement) ((DeclaredType) mirror).asElement());
        }
    }

    private void write() {
        StringBuilder json = new StringBuilder("{\n");
        int i = 0;
        for (Map.Entry<String, Map<String, String>> ext : components.entrySet()) {
            json.append("  \"").append(ext.getKey()).append("\": {\n");
            int j = 0;
            for (Map.Entry<String, String> c : ext.getValue().entrySet()) {
                json.append("    \"").append(c.getKey()).append("\": \"").append(c.getValue()).append('"');
                json.append(++j < ext.getValue().size() ? ",\n" : "\n");
            }
            json.append("  }").append(++i < components.size() ? ",\n" : "\n");
        }
        json.append("}\n");
        try {
            FileObject file = processingEnv.getFiler().createResource(StandardLocation.CLASS_OUTPUT, "", FILE_NAME);
            try (Writer w = file.openWriter()) {
                w.write(json.toString());
            }
        } catch (IOException e) {
            processingEnv.getMessager().printMessage(Diagnostic.Kind.ERROR, "cannot write " + FILE_NAME + ": " + e);
        }
    }
}
