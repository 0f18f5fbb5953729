// The builder's webpack config loads .svg files as strings.
declare module '*.svg' {
  const svgstr: string;
  export default svgstr;
}
