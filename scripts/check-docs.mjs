#!/usr/bin/env node
// Fails when an export of the public API (the package's entry points) has no TSDoc comment, or when a
// public member of an exported class or interface has none, or when `any` appears in a public type.
import ts from 'typescript';
import path from 'node:path';
import { entryPoints, root } from './entry-points.mjs';

const entries = entryPoints().map((p) => path.join(root, p));
const config = ts.readConfigFile(path.join(root, 'tsconfig.build.json'), ts.sys.readFile);
const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
const program = ts.createProgram(entries, parsed.options);
const checker = program.getTypeChecker();
const problems = [];

function documented(node) {
  return ts.getJSDocCommentsAndTags(node).length > 0;
}
function where(node) {
  const sf = node.getSourceFile();
  const { line } = sf.getLineAndCharacterOfPosition(node.getStart());
  return `${path.relative(root, sf.fileName)}:${line + 1}`;
}
function isPublicMember(m) {
  const mods = ts.getCombinedModifierFlags(m);
  if (mods & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) return false;
  if (m.name && ts.isPrivateIdentifier(m.name)) return false;
  if (ts.isConstructorDeclaration(m)) return false;
  if (ts.getJSDocTags(m).some((t) => t.tagName.text === 'internal')) return false;
  return true;
}
function memberName(m) {
  return m.name ? m.name.getText() : ts.SyntaxKind[m.kind];
}
function checkAny(node, label) {
  const visit = (n) => {
    if (n.kind === ts.SyntaxKind.AnyKeyword) problems.push(`${where(n)}: 'any' in the public type of ${label}`);
    ts.forEachChild(n, visit);
  };
  visit(node);
}

/** Names of documented members of the interfaces and classes `decl` implements or extends. */
function inheritedDocs(decl) {
  const names = new Set();
  for (const clause of decl.heritageClauses ?? []) {
    for (const t of clause.types) {
      const type = checker.getTypeAtLocation(t.expression);
      for (const prop of checker.getPropertiesOfType(type)) {
        if ((prop.declarations ?? []).some(documented)) names.add(prop.getName());
      }
    }
  }
  return names;
}

const seen = new Set();
for (const entry of entries) {
  const sf = program.getSourceFile(entry);
  const moduleSymbol = checker.getSymbolAtLocation(sf);
  for (const exp of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
    for (const decl of symbol.declarations ?? []) {
      if (seen.has(decl)) continue;
      seen.add(decl);
      const label = exp.getName();
      const target = ts.isVariableDeclaration(decl) ? decl.parent.parent : decl;
      const overloadDocumented = ts.isFunctionDeclaration(decl) && (symbol.declarations ?? []).some(documented);
      if (!documented(target) && !overloadDocumented && !ts.isSourceFile(decl))
        problems.push(`${where(decl)}: export '${label}' has no TSDoc`);
      if (ts.isClassDeclaration(decl) || ts.isInterfaceDeclaration(decl)) {
        const inherited = inheritedDocs(decl);
        for (const m of decl.members) {
          if (!isPublicMember(m)) continue;
          if (ts.isIndexSignatureDeclaration(m)) continue;
          // Overload implementations are documented at their first signature.
          if ((ts.isMethodDeclaration(m) || ts.isMethodSignature(m)) && !documented(m)) {
            const siblings = decl.members.filter(
              (o) => o !== m && o.name && m.name && o.name.getText() === m.name.getText(),
            );
            if (siblings.some(documented)) continue;
          }
          // A member implementing a documented interface member inherits its documentation.
          if (!documented(m) && !(m.name && inherited.has(m.name.getText())))
            problems.push(`${where(m)}: ${label}.${memberName(m)} has no TSDoc`);
          checkAny(m, `${label}.${memberName(m)}`);
        }
      } else {
        checkAny(decl, label);
      }
    }
  }
}

if (problems.length > 0) {
  console.error(`check-docs: ${problems.length} undocumented or 'any' public API item(s):`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`check-docs: every public export and member is documented (${seen.size} declarations).`);
