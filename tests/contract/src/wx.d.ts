// The part of the mini-program runtime (`wx`) the client uses, as WeChat documents it.
declare namespace WechatMiniprogram {
  interface RequestSuccess {
    statusCode: number;
    header: Record<string, string>;
    data: unknown;
  }
  interface RequestOption {
    url: string;
    method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
    header?: Record<string, string>;
    data?: unknown;
    dataType?: "json" | "其他";
    success?: (res: RequestSuccess) => void;
    fail?: (err: { errMsg: string }) => void;
  }
  interface UploadFileSuccess {
    statusCode: number;
    data: string;
  }
  interface UploadFileOption {
    url: string;
    filePath: string;
    name: string;
    header?: Record<string, string>;
    success?: (res: UploadFileSuccess) => void;
    fail?: (err: { errMsg: string }) => void;
  }
  interface LoginSuccess {
    code: string;
  }
  interface PreviewImageOption {
    urls: string[];
    current?: string;
  }
}
declare const wx: {
  request(option: WechatMiniprogram.RequestOption): void;
  uploadFile(option: WechatMiniprogram.UploadFileOption): void;
  login(option: { success: (res: WechatMiniprogram.LoginSuccess) => void; fail?: (err: { errMsg: string }) => void }): void;
  previewImage(option: WechatMiniprogram.PreviewImageOption): void;
};
declare function setTimeout(callback: () => void, ms: number): number;
declare const console: { warn(message: string): void };
